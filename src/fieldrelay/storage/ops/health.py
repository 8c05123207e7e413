"""What the Health page reads: the backlog of inbox, timers and outbox with the oldest waiting row per connector,
kind or target; each outside CRM's circuit as the delivery attempts show it (when its breaker recorded nothing); and
the last hour, minute by minute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, Integer, and_, cast, func, literal_column, select, text

from fieldrelay.storage.tables import delivery_attempts, inbox, outbox, timers

WAITING = ("pending", "processing", "sending")


@dataclass(frozen=True)
class Backlog:
    """Rows waiting in one queue for one connector, timer kind or target, and how long the oldest has waited."""

    queue: str  # inbox, timers, outbox
    target: str
    waiting: int
    oldest_seconds: float


@dataclass(frozen=True)
class Circuit:
    """An outside CRM's circuit as the database shows it: open when its latest try was held for an outage."""

    target: str
    open: bool
    last_try_at: datetime | None
    next_probe_at: datetime | None  # the earliest held row's next try, while open


def backlog(conn: Connection, account_id: str, now: datetime) -> list[Backlog]:
    """Waiting rows per queue and connector / kind / target (timers: only those already due), oldest wait first."""
    queues: tuple[tuple[str, ColumnElement[str], ColumnElement[datetime], ColumnElement[bool]], ...] = (
        ("inbox", inbox.c.connector, inbox.c.received_at, inbox.c.status.in_(WAITING)),
        ("timers", timers.c.kind, timers.c.due_at, and_(timers.c.status.in_(WAITING), timers.c.due_at <= now)),
        ("outbox", outbox.c.target, outbox.c.created_at, outbox.c.status.in_(WAITING)),
    )
    found: list[Backlog] = []
    for name, target, since, where in queues:
        table = target.table
        # Grouped here, not in SQL: with GROUP BY, SQLite walks the account's every row by its unique key instead of
        # the few waiting ones by (account_id, status); the waiting rows are few unless something is badly wrong.
        waiting: dict[str, list[datetime]] = {}
        for key, moment in conn.execute(select(target, since).where(where, table.c.account_id == account_id)):
            waiting.setdefault(str(key), []).append(moment)
        found.extend(
            Backlog(name, key, len(moments), max((now - min(moments)).total_seconds(), 0.0))
            for key, moments in waiting.items()
        )
    return sorted(found, key=lambda b: (-b.oldest_seconds, b.queue, b.target))


def circuits(conn: Connection, account_id: str, targets: list[str]) -> list[Circuit]:
    """Each configured outside CRM's circuit, judged by its latest delivery attempt (``held``: the target is down)."""
    a, o = delivery_attempts.c, outbox.c
    states = []
    for target in targets:
        latest = conn.execute(
            select(a.outcome, a.started_at)
            .join(outbox, o.id == a.outbox_id)
            .where(a.account_id == account_id, o.target == target)
            .order_by(a.started_at.desc(), a.id.desc())
            .limit(1)
        ).first()
        is_open = latest is not None and latest.outcome == "held"
        probe = (
            conn.execute(
                select(func.min(o.next_attempt_at)).where(
                    o.account_id == account_id, o.target == target, o.status == "pending"
                )
            ).scalar()
            if is_open
            else None
        )
        states.append(Circuit(target, is_open, latest.started_at if latest else None, probe))
    return states


def epoch_minute(dialect_name: str, moment: ColumnElement[datetime]) -> ColumnElement[int]:
    """Whole minutes since the epoch of a stored UTC time, in SQL (SQLite keeps it as text, PostgreSQL as a
    timestamp with its zone)."""
    if dialect_name == "postgresql":
        return cast(func.floor(func.extract("epoch", moment) / literal_column("60")), Integer)
    return cast(func.strftime("%s", moment), Integer) // literal_column("60", Integer)


def minute_of(moment: datetime) -> int:
    """Whole minutes since the epoch of an aware time, as ``epoch_minute`` counts them in SQL."""
    return int(moment.timestamp() // 60)


def per_minute(conn: Connection, account_id: str, now: datetime, minutes: int = 60) -> dict[str, list[int]]:
    """For each of the last ``minutes`` clock minutes (oldest first, the current one last): webhooks acknowledged
    (stored), inbox rows applied, and outbox rows delivered; counted in SQL over each time's index."""
    last = minute_of(now)
    first = last - minutes + 1
    since = datetime.fromtimestamp(first * 60, tz=UTC)
    series = {
        "webhooks acknowledged": (inbox.c.received_at, inbox.c.account_id),
        "events applied": (inbox.c.processed_at, inbox.c.account_id),
        "deliveries sent": (outbox.c.sent_at, outbox.c.account_id),
    }
    counts: dict[str, list[int]] = {}
    for label, (moment, account) in series.items():
        bins = [0] * minutes
        bucket = epoch_minute(conn.dialect.name, moment).label("bucket")
        query = (
            select(bucket, func.count())
            .where(account == account_id, moment >= since, moment <= now)
            .group_by(text("bucket"))  # by the label: PostgreSQL matches a repeated expression's parameters by name
        )
        for at, n in conn.execute(query):
            bins[min(minutes - 1, max(0, int(at) - first))] += int(n)
        counts[label] = bins
    return counts
