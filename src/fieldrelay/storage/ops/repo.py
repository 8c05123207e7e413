"""The error queue and the outbox backlog, read for the operations digest (mixed into SqlMirror)."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from fieldrelay.service.ops.ports import OpenError, OpenWork, WaitingTarget
from fieldrelay.storage.ops import errors
from fieldrelay.storage.tables import outbox


class SqlOps:
    """Operations reads inside the caller's transaction."""

    _conn: Connection
    _account: str

    def open_work(self, limit: int) -> OpenWork:
        """The oldest ``limit`` open errors, how many there are in all, and the waiting rows per outbox target."""
        items = errors.list_errors(self._conn, self._account)
        c = outbox.c
        waiting = self._conn.execute(
            select(c.target, func.count(), func.min(c.created_at))
            .where(c.account_id == self._account, c.status.in_(("pending", "sending")))
            .group_by(c.target)
            .order_by(c.target)
        ).all()
        return OpenWork(
            errors=[OpenError(i.id, i.kind, i.source, i.summary, i.error, i.attempts, i.at) for i in items[:limit]],
            error_total=len(items),
            waiting=[WaitingTarget(str(target), int(n), oldest) for target, n, oldest in waiting],
        )
