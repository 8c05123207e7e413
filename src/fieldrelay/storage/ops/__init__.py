"""Storage for operations: the error queue and the backlog the digest reads."""
