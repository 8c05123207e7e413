"""Storage of tasks for people: lookups by short id and source, and the task list read model."""
