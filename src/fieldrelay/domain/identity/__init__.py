"""Identity matching with no I/O: normal forms, blocking keys, pair scores and the decision."""
