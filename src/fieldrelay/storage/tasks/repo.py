"""SqlTasks: the TaskStore half of SqlMirror (tasks found by short id, and by the source that opened them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from fieldrelay.service.handoff.ports import TaskRecord
from fieldrelay.storage.handoff.repo import task_record
from fieldrelay.storage.sequences.tables import tasks


class SqlTasks:
    """Task lookups inside the caller's transaction."""

    _conn: Connection
    _account: str
    _now: datetime

    def tasks_with_id_prefix(self, prefix: str, limit: int) -> list[TaskRecord]:
        """Tasks whose id starts with ``prefix``, at most ``limit``, by id."""
        k = tasks.c
        query = (
            select(tasks)
            .where(k.account_id == self._account, k.id.startswith(prefix, autoescape=True))
            .order_by(k.id)
            .limit(limit)
        )
        return [task_record(row) for row in self._conn.execute(query)]

    def open_tasks_from(self, source_prefix: str) -> list[TaskRecord]:
        """Open tasks whose source starts with ``source_prefix``, soonest due first."""
        k = tasks.c
        query = (
            select(tasks)
            .where(
                k.account_id == self._account,
                k.status == "open",
                k.source.startswith(source_prefix, autoescape=True),
            )
            .order_by(k.due_at, k.id)
        )
        return [task_record(row) for row in self._conn.execute(query)]
