"""The error queue: inbox rows that need a person, and timers and outbox rows whose retries are spent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, Table, func, literal_column, select, text, update

from fieldrelay.domain.redaction import redact_optional
from fieldrelay.rules.sequences import parse_duration
from fieldrelay.storage.tables import delivery_attempts, inbox, messages, outbox, timers

_KINDS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "inbox": (inbox, ("error", "dead")),
    "timer": (timers, ("dead",)),
    "outbox": (outbox, ("dead",)),
}
KINDS: tuple[str, ...] = tuple(_KINDS)
# Per kind: the column ErrorItem.source comes from and the one ErrorItem.at comes from.
_SOURCE_AND_AT: dict[str, tuple[str, str]] = {
    "inbox": ("connector", "received_at"),
    "timer": ("kind", "due_at"),
    "outbox": ("target", "created_at"),
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
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        """The API shape."""
        return {
            "id": self.id,
            "kind": self.kind,
            "source": self.source,
            "summary": self.summary,
            "error": self.error,
            "attempts": self.attempts,
            "at": _iso(self.at),
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _inbox_item(r: Row[Any]) -> ErrorItem:
    summary = f"webhook {r.event_type or '(unreadable)'}"
    extra = {"connector": r.connector, "event_type": r.event_type}
    return ErrorItem(
        f"inbox-{r.id}", "inbox", r.connector, summary, redact_optional(r.last_error), r.attempts, r.received_at, extra
    )


def _timer_item(t: Row[Any]) -> ErrorItem:
    return ErrorItem(f"timer-{t.id}", "timer", t.kind, t.key, redact_optional(t.last_error), t.attempts, t.due_at)


def _outbox_item(o: Row[Any]) -> ErrorItem:
    summary = f"{o.kind} {o.idempotency_key}"
    return ErrorItem(
        f"outbox-{o.id}", "outbox", o.target, summary, redact_optional(o.last_error), o.attempts, o.created_at
    )


# Per kind: the columns an item is read from (statements are immutable, so one of each serves every call).
_SELECTS: dict[str, tuple[Select[Any], Callable[[Row[Any]], ErrorItem]]] = {
    "inbox": (
        select(*(inbox.c[n] for n in ("id", "connector", "event_type", "last_error", "attempts", "received_at"))),
        _inbox_item,
    ),
    "timer": (
        select(*(timers.c[n] for n in ("id", "kind", "key", "last_error", "attempts", "due_at"))),
        _timer_item,
    ),
    "outbox": (
        select(
            *(outbox.c[n] for n in ("id", "target", "kind", "idempotency_key", "last_error", "attempts", "created_at"))
        ),
        _outbox_item,
    ),
}


def _open(kind: str, account_id: str) -> tuple[Select[Any], Callable[[Row[Any]], ErrorItem]]:
    """The select of one kind's open error rows of the account, and how a row becomes an item."""
    table, statuses = _KINDS[kind]
    base, to_item = _SELECTS[kind]
    return base.where(table.c.account_id == account_id, table.c.status.in_(statuses)), to_item


def list_errors(
    conn: Connection,
    account_id: str,
    kind: str | None = None,
    *,
    source: str | None = None,
    target: str | None = None,
    older_than: timedelta | None = None,
    now: datetime | None = None,
) -> list[ErrorItem]:
    """Everything waiting for a person, oldest first; ``older_than`` (with ``now``) keeps items at least that old.

    ``target`` keeps the deliveries to one outbox target (sms, email, hubspot …): outbox rows of that source.
    """
    if older_than is not None and now is None:
        raise ValueError("older_than needs now")
    if kind is not None and kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r} (kinds: {', '.join(_KINDS)})")
    if target is not None:
        if kind not in (None, "outbox") or source not in (None, target):
            return []
        kind, source = "outbox", target
    items: list[ErrorItem] = []
    for name in _KINDS if kind is None else (kind,):
        query, to_item = _open(name, account_id)
        table = _KINDS[name][0]
        source_column, at_column = _SOURCE_AND_AT[name]
        if source is not None:
            query = query.where(table.c[source_column] == source)
        if older_than is not None and now is not None:
            query = query.where(table.c[at_column] <= now - older_than)
        items.extend(to_item(r) for r in conn.execute(query))
    return sorted(items, key=lambda item: item.at)


def errors_of_customers(conn: Connection, account_id: str, customer_ids: list[str]) -> list[ErrorItem]:
    """Open timer and outbox errors about these customers (an inbox row names no customer), oldest first."""
    items: list[ErrorItem] = []
    for name in ("timer", "outbox"):
        query, to_item = _open(name, account_id)
        items.extend(to_item(r) for r in conn.execute(query.where(_KINDS[name][0].c.customer_id.in_(customer_ids))))
    return sorted(items, key=lambda item: item.at)


def parse_age(text: str) -> timedelta:
    """An ``older_than`` filter like ``30m``, ``2h`` or ``7d``; ValueError when it is no duration or negative."""
    delta = parse_duration(text)
    if delta < timedelta(0):
        raise ValueError(f"{text!r} is negative; give a duration like 30m, 2h or 7d")
    return delta


def parse_error_id(error_id: str) -> tuple[str, int] | None:
    """Split "inbox-12" into ("inbox", 12); None when it is not an error id."""
    kind, _, number = error_id.partition("-")
    if kind not in _KINDS or not number.isdigit():
        return None
    return kind, int(number)


def get_error(conn: Connection, account_id: str, error_id: str) -> ErrorItem | None:
    """One open error, or None."""
    parsed = parse_error_id(error_id)
    if parsed is None:
        return None
    kind, row_id = parsed
    query, to_item = _open(kind, account_id)
    row = conn.execute(query.where(_KINDS[kind][0].c.id == row_id)).first()
    return None if row is None else to_item(row)


def error_detail(conn: Connection, account_id: str, error_id: str) -> dict[str, Any] | None:
    """An open error's JSON with its delivery attempts (outbox rows, oldest first); None when it is not open."""
    item = get_error(conn, account_id, error_id)
    if item is None:
        return None
    attempts: list[dict[str, Any]] = []
    if item.kind == "outbox":
        a = delivery_attempts.c
        rows = conn.execute(
            select(a.attempt, a.started_at, a.duration_ms, a.outcome, a.status_code, a.detail)
            .where(a.account_id == account_id, a.outbox_id == int(item.id.removeprefix("outbox-")))
            .order_by(a.started_at, a.attempt, a.id)
        )
        attempts = [{**r._asdict(), "started_at": _iso(r.started_at)} for r in rows]
    # "attempts" is the list of delivery attempts here, so the item's count of tries moves to "tries".
    return {**item.as_json(), **item.extra, "tries": item.attempts, "attempts": attempts}


def _set_message_status(conn: Connection, table: Table, row_id: int, status: str) -> None:
    message_id = conn.execute(select(table.c.message_id).where(table.c.id == row_id)).scalar()
    if message_id:
        conn.execute(update(messages).where(messages.c.id == message_id).values(status=status))


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
        _set_message_status(conn, table, row_id, "queued")
    return True


def retry_all(conn: Connection, account_id: str, now: datetime) -> int:
    """Put every open error back to work; returns how many."""
    return sum(retry(conn, account_id, item.id, now) for item in list_errors(conn, account_id))


def dismiss(conn: Connection, account_id: str, error_id: str, by: str | None, reason: str | None) -> bool:
    """Close one open error without retrying it (an outbox row's message is cancelled); False when none is open."""
    parsed = parse_error_id(error_id)
    if parsed is None:
        return False
    kind, row_id = parsed
    table, statuses = _KINDS[kind]
    c = table.c
    where = (c.id == row_id, c.account_id == account_id, c.status.in_(statuses))
    found = conn.execute(select(c.last_error).where(*where)).first()
    if found is None:
        return False
    before = f"{found.last_error} — " if found.last_error else ""
    note = f"{before}dismissed by {by or 'a person'}{': ' + reason if reason else ''}"
    result = conn.execute(update(table).where(*where).values(status="dismissed", last_error=note, locked_by=None))
    if result.rowcount != 1:
        return False
    if kind == "outbox":
        _set_message_status(conn, table, row_id, "cancelled")
    return True


def open_error_counts(conn: Connection, account_id: str) -> dict[tuple[str, str], int]:
    """Open errors of the account by (kind, source)."""
    counts: dict[tuple[str, str], int] = {}
    for kind, (table, statuses) in _KINDS.items():
        # Grouped by an expression, not the bare column: grouping inbox rows by connector, SQLite walks the account's
        # every row in its unique key's order (account, connector, …) to skip a sort, instead of reading the few open
        # errors by (account_id, status).
        source = (table.c[_SOURCE_AND_AT[kind][0]] + literal_column("''")).label("grouped_source")
        rows = conn.execute(
            select(source, func.count())
            .where(table.c.account_id == account_id, table.c.status.in_(statuses))
            .group_by(text("grouped_source"))
        )
        counts.update({(kind, str(s)): int(n) for s, n in rows})
    return counts
