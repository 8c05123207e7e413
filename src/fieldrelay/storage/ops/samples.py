"""The backlog over time: a sample of every queue's waiting rows a minute, kept by the worker for a week, read back
bucketed for the Health page's window (storage/ops/tables.py ``health_samples``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Integer, delete, func, insert, literal_column, select, text

from fieldrelay.storage.ops.health import Backlog, minute_of
from fieldrelay.storage.ops.tables import health_samples
from fieldrelay.storage.prepared import insert_ignore

KEEP = timedelta(days=7)
QUEUES = ("inbox", "timers", "outbox")
TOTAL = "*"  # the target of a queue's total row, written every sampled minute (zero included)


@dataclass(frozen=True)
class SamplePoint:
    """One bucket of the window for one queue and target (``*``: the whole queue): the most rows waiting in any of
    its sampled minutes, and the longest oldest wait."""

    start: datetime
    queue: str
    target: str
    waiting: int
    oldest_seconds: float


def record_minute(conn: Connection, account_id: str, now: datetime, backlog: list[Backlog]) -> bool:
    """Keep ``now``'s minute of the backlog unless a worker already has; True when this call wrote it (and pruned the
    samples older than ``KEEP``).

    The first queue's total row claims the minute: a second worker's insert of it does nothing (on PostgreSQL it waits
    for the first's commit), and that worker writes nothing more, so a minute is one worker's snapshot.
    """
    minute = minute_of(now)
    rows = [
        {
            "account_id": account_id,
            "minute": minute,
            "queue": queue,
            "target": TOTAL,
            "waiting": sum(b.waiting for b in backlog if b.queue == queue),
            "oldest_seconds": max((b.oldest_seconds for b in backlog if b.queue == queue), default=0.0),
        }
        for queue in QUEUES
    ]
    if not insert_ignore(conn, health_samples, rows[0]):
        return False
    rows[1:] += [
        {
            "account_id": account_id,
            "minute": minute,
            "queue": b.queue,
            "target": b.target,
            "waiting": b.waiting,
            "oldest_seconds": b.oldest_seconds,
        }
        for b in backlog
    ]
    conn.execute(insert(health_samples), rows[1:])
    prune(conn, account_id, now)
    return True


def prune(conn: Connection, account_id: str, now: datetime) -> int:
    """Forget samples older than ``KEEP``; how many rows went."""
    h = health_samples.c
    result = conn.execute(delete(health_samples).where(h.account_id == account_id, h.minute < minute_of(now - KEEP)))
    return result.rowcount


def window(conn: Connection, account_id: str, now: datetime, minutes: int, buckets: int = 60) -> list[SamplePoint]:
    """The samples of the last ``minutes`` minutes in ``buckets`` equal buckets (grouped in SQL over the key's minute
    range), oldest first; a bucket no worker sampled is absent."""
    step = max(1, minutes // buckets)
    last = minute_of(now)
    first = last - step * buckets + 1
    h = health_samples.c
    # Grouped by its label: PostgreSQL matches a repeated GROUP BY expression to the selected one only when their
    # parameters are the same ones. The two whole numbers are written into the SQL, so the division is an integer one.
    bucket = ((h.minute - literal_column(str(int(first)), Integer)) // literal_column(str(int(step)), Integer)).label(
        "bucket"
    )
    query = (
        select(bucket, h.queue, h.target, func.max(h.waiting), func.max(h.oldest_seconds))
        .where(h.account_id == account_id, h.minute >= first, h.minute <= last)
        .group_by(text("bucket"), h.queue, h.target)
        .order_by(text("bucket"), h.queue, h.target)
    )
    return [
        SamplePoint(at_minute(first + int(n) * step), queue, target, int(waiting), float(oldest))
        for n, queue, target, waiting, oldest in conn.execute(query)
    ]


def at_minute(minute: int) -> datetime:
    """The start of a minute counted since the epoch."""
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def bucket_starts(now: datetime, minutes: int, buckets: int = 60) -> list[datetime]:
    """The start of each of ``window``'s buckets, oldest first."""
    step = max(1, minutes // buckets)
    first = minute_of(now) - step * buckets + 1
    return [at_minute(first + i * step) for i in range(buckets)]
