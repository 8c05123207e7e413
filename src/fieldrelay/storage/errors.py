"""The error queue: inbox rows that need a person, and timers and outbox rows whose retries are spent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select, update

from fieldrelay.storage.tables import inbox, messages, outbox, timers

_KINDS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "inbox": (inbox, ("error", "dead")),
    "timer": (timers, ("dead",)),
    "outbox": (outbox, ("dead",)),
}


@dataclass(frozen=True)
class ErrorItem:
    """One row in the error queue."""

    id: str
    kind: str
    source: str
    summary: str
    error: str | None
    attempts: int
    at: datetime

    def as_json(self) -> dict[str, Any]:
        """The API shape."""
        return {
            "id": self.id,
            "kind": self.kind,
            "source": self.source,
            "summary": self.summary,
            "error": self.error,
            "attempts": self.attempts,
            "at": self.at.isoformat().replace("+00:00", "Z"),
        }


def list_errors(conn: Connection, account_id: str, kind: str | None = None) -> list[ErrorItem]:
    """Everything waiting for a person, oldest first."""
    items: list[ErrorItem] = []
    if kind in (None, "inbox"):
        c = inbox.c
        for r in conn.execute(
            select(c.id, c.connector, c.event_type, c.last_error, c.attempts, c.received_at).where(
                c.account_id == account_id, c.status.in_(_KINDS["inbox"][1])
            )
        ):
            summary = f"webhook {r.event_type or '(unreadable)'}"
            items.append(
                ErrorItem(f"inbox-{r.id}", "inbox", r.connector, summary, r.last_error, r.attempts, r.received_at)
            )
    if kind in (None, "timer"):
        c = timers.c
        for t in conn.execute(
            select(c.id, c.kind, c.key, c.last_error, c.attempts, c.due_at).where(
                c.account_id == account_id, c.status == "dead"
            )
        ):
            items.append(ErrorItem(f"timer-{t.id}", "timer", t.kind, t.key, t.last_error, t.attempts, t.due_at))
    if kind in (None, "outbox"):
        c = outbox.c
        for o in conn.execute(
            select(c.id, c.target, c.kind, c.idempotency_key, c.last_error, c.attempts, c.created_at).where(
                c.account_id == account_id, c.status == "dead"
            )
        ):
            summary = f"{o.kind} {o.idempotency_key}"
            items.append(
                ErrorItem(f"outbox-{o.id}", "outbox", o.target, summary, o.last_error, o.attempts, o.created_at)
            )
    return sorted(items, key=lambda item: item.at)


def parse_error_id(error_id: str) -> tuple[str, int] | None:
    """Split "inbox-12" into ("inbox", 12); None when it is not an error id."""
    kind, _, number = error_id.partition("-")
    if kind not in _KINDS or not number.isdigit():
        return None
    return kind, int(number)


def retry(conn: Connection, account_id: str, error_id: str, now: datetime) -> bool:
    """Put one error back to work, with a fresh retry budget; False when no such error is open."""
    parsed = parse_error_id(error_id)
    if parsed is None:
        return False
    kind, row_id = parsed
    table, statuses = _KINDS[kind]
    c = table.c
    result = conn.execute(
        update(table)
        .where(c.id == row_id, c.account_id == account_id, c.status.in_(statuses))
        .values(status="pending", attempts=0, next_attempt_at=now, locked_by=None, locked_until=None)
    )
    if result.rowcount != 1:
        return False
    if kind == "outbox":
        message_id = conn.execute(select(c.message_id).where(c.id == row_id)).scalar()
        if message_id:
            conn.execute(update(messages).where(messages.c.id == message_id).values(status="queued"))
    return True


def retry_all(conn: Connection, account_id: str, now: datetime) -> int:
    """Put every open error back to work; returns how many."""
    return sum(retry(conn, account_id, item.id, now) for item in list_errors(conn, account_id))
