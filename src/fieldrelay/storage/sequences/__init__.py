"""Storage of sequences: tables, the repository, read models and report figures."""
