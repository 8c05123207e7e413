"""What closing a task reads: tasks found by the short id a person types, and the open tasks one source opened."""

from __future__ import annotations

from typing import Protocol

from fieldrelay.service.handoff.ports import TaskRecord


class TaskStore(Protocol):
    """Task lookups inside the caller's transaction (a task's own writes are ``SopStore.update_task``)."""

    def tasks_with_id_prefix(self, prefix: str, limit: int) -> list[TaskRecord]:
        """Tasks whose id starts with ``prefix``, at most ``limit``, by id."""
        ...

    def open_tasks_from(self, source_prefix: str) -> list[TaskRecord]:
        """Open tasks whose source starts with ``source_prefix`` (``seq:{enrollment id}:`` for one enrolment's)."""
        ...
