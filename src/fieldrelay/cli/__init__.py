"""The ``fieldrelay`` command, one module per area; ``main.app`` is the entry point."""
