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
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, Update, and_, bindparam, exists, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from fieldrelay.domain.redaction import redact
from fieldrelay.domain.text import storable


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
    query = _due_rows(table, in_flight, extra, engine.dialect.name == "postgresql")
    with engine.begin() as conn:
        rows = conn.execute(query, {"b_now": now, "b_limit": limit}).all()
        if not rows:
            return []
        conn.execute(
            _take(table, in_flight),
            {"b_ids": [r.id for r in rows], "b_worker": worker_id, "b_until": now + lease},
        )
    return [Claimed(row=r, recovered=r.status == in_flight) for r in rows]


# The statements below are built once per table (see storage/prepared.py for why) and run with parameters.


@cache
def _due_rows(table: Table, in_flight: str, extra: ColumnElement[bool] | None, skip_locked: bool) -> Select[Any]:
    c = table.c
    now: Any = bindparam("b_now")
    due = or_(
        and_(c.status == "pending", c.next_attempt_at <= now),
        and_(c.status == in_flight, c.locked_until < now),
    )
    condition = and_(due, extra) if extra is not None else due
    query = select(table).where(condition).order_by(c.id).limit(bindparam("b_limit"))
    return query.with_for_update(skip_locked=True) if skip_locked else query


@cache
def _take(table: Table, in_flight: str) -> Update:
    c = table.c
    return (
        update(table)
        .where(c.id.in_(bindparam("b_ids", expanding=True)))
        .values(
            status=in_flight,
            locked_by=bindparam("b_worker"),
            locked_until=bindparam("b_until"),
            attempts=c.attempts + 1,
        )
    )


@cache
def _held(table: Table) -> Update:
    """UPDATE one row only while ``b_worker`` holds it in state ``b_in_flight``."""
    c = table.c
    return update(table).where(
        c.id == bindparam("b_id"), c.locked_by == bindparam("b_worker"), c.status == bindparam("b_in_flight")
    )


@cache
def _renewable(table: Table) -> Update:
    """UPDATE one held row whose lease has not yet run out at ``b_now``."""
    return _held(table).where(table.c.locked_until > bindparam("b_now"))


@cache  # one object per table: it is part of the claim query's cache key
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
    with engine.begin() as conn:
        params = {"b_id": row_id, "b_worker": worker_id, "b_in_flight": in_flight, "b_now": now}
        result = conn.execute(_renewable(table), {**params, "locked_until": now + lease})
    return result.rowcount == 1


def finish(
    conn: Connection, table: Table, row_id: int, worker_id: str, in_flight: str = "processing", **values: Any
) -> None:
    """Set the outcome of a claimed row, only if this worker still holds it; else raise LeaseLost."""
    params = {"b_id": row_id, "b_worker": worker_id, "b_in_flight": in_flight, "locked_by": None, "locked_until": None}
    fitted = {key: _fit(key, value) if isinstance(value, str) else value for key, value in values.items()}
    result = conn.execute(_held(table), {**fitted, **params})
    if result.rowcount != 1:
        raise LeaseLost(f"{table.name} {row_id} is no longer held by {worker_id}")


def _fit(column: str, text: str) -> str:
    """A text value made storable; an error text also without personal data (it is shown in the error queue)."""
    text = storable(_without_nul(text))
    return redact(text) if column == "last_error" else text


def _without_nul(text: str) -> str:
    """The text with NUL shown as ``\\x00``: PostgreSQL refuses NUL in text, and an error or event type can quote a
    vendor's bytes (a signed webhook naming an item ``"\\x00…"`` must still end ignored or in the error queue)."""
    return text.replace("\x00", "\\x00")
