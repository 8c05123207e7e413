"""Claiming rows of work (inbox, timers, outbox) with a lease, safely across processes.

PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent workers take disjoint rows.
SQLite: every transaction is ``BEGIN IMMEDIATE`` (see storage.db), so a claim is one short serialised write.
A claimed row is ``in_flight`` with ``locked_by`` and ``locked_until``; a row whose lease expired (its worker
died) is claimable again. Finishing a row is fenced on ``locked_by`` so a worker that lost its lease cannot
overwrite the work of the one that took over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, exists, or_, select, update
from sqlalchemy.sql.elements import ColumnElement


class LeaseLost(Exception):
    """The row's lease expired and another worker claimed it; this worker's result must be discarded."""


@dataclass(frozen=True)
class Claimed:
    """A claimed row and whether it was taken over from a worker whose lease expired mid-flight."""

    row: Any
    recovered: bool


def claim(
    engine: Engine,
    table: Table,
    *,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    in_flight: str = "processing",
    extra: ColumnElement[bool] | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` due rows of ``table`` for ``worker_id``, oldest first."""
    c = table.c
    due = or_(
        and_(c.status == "pending", c.next_attempt_at <= now),
        and_(c.status == in_flight, c.locked_until < now),
    )
    condition = and_(due, extra) if extra is not None else due
    query = select(table).where(condition).order_by(c.id).limit(limit)
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    with engine.begin() as conn:
        rows = conn.execute(query).all()
        if not rows:
            return []
        conn.execute(
            update(table)
            .where(c.id.in_([r.id for r in rows]))
            .values(
                status=in_flight,
                locked_by=worker_id,
                locked_until=now + lease,
                attempts=c.attempts + 1,
            )
        )
    return [Claimed(row=r, recovered=r.status == in_flight) for r in rows]


def outbox_in_order(outbox: Table) -> ColumnElement[bool]:
    """Only rows with no earlier unfinished row for the same ordering key (one customer's writes stay in order)."""
    earlier = outbox.alias("earlier")
    return ~exists().where(
        and_(
            earlier.c.account_id == outbox.c.account_id,
            earlier.c.ordering_key == outbox.c.ordering_key,
            earlier.c.id < outbox.c.id,
            earlier.c.status.in_(("pending", "sending")),
        )
    )


def renew(
    engine: Engine, table: Table, row_id: int, worker_id: str, now: datetime, lease: timedelta, in_flight: str
) -> bool:
    """Extend this worker's lease on one row just before slow work; False when the row is no longer ours."""
    c = table.c
    with engine.begin() as conn:
        result = conn.execute(
            update(table)
            .where(c.id == row_id, c.locked_by == worker_id, c.status == in_flight, c.locked_until > now)
            .values(locked_until=now + lease)
        )
    return result.rowcount == 1


def finish(
    conn: Connection, table: Table, row_id: int, worker_id: str, in_flight: str = "processing", **values: Any
) -> None:
    """Set the outcome of a claimed row, only if this worker still holds it; else raise LeaseLost."""
    c = table.c
    result = conn.execute(
        update(table)
        .where(c.id == row_id, c.locked_by == worker_id, c.status == in_flight)
        .values(locked_by=None, locked_until=None, **values)
    )
    if result.rowcount != 1:
        raise LeaseLost(f"{table.name} {row_id} is no longer held by {worker_id}")
