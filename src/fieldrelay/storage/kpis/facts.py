"""The Reports KPIs' facts (storage/kpis/tables.py ``kpi_facts``): one row per lead, completed job, paid job and sent
estimate with its figure worked out, made from the mirror's rows by the same SQL the samples use (``samples.py``).

Migration 0018's triggers mark a customer in ``kpi_dirty`` in the transaction that changes any row a fact is made of
(the customer, their deals, jobs, service records, messages — and the job's customer for a message about a job —
and activities), whoever writes it: a handler, the delivery engine, a merge, an undo. ``refresh`` remakes the marked
customers' facts from the rows as they stand, so an event applied out of order, a replay or a merge leaves the facts
as a fresh computation would; ``current`` reads a span's facts with the marked customers' worked out live, so a read
between a change and the worker's next refresh is still exact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Integer,
    Select,
    String,
    Subquery,
    Text,
    case,
    cast,
    delete,
    insert,
    literal,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.types import TypeEngine

from fieldrelay.storage.kpis.elapsed import elapsed_seconds
from fieldrelay.storage.kpis.samples import crew_text, first_touch, followed_up, review_clicked
from fieldrelay.storage.kpis.tables import kpi_dirty, kpi_facts
from fieldrelay.storage.tables import UtcDateTime, activities, customers, deals, jobs, service_history

KINDS = ("lead", "completion", "paid", "estimate")
COLUMNS = tuple(column.name for column in kpi_facts.c)
BATCH = 500  # customers remade per statement (well under SQLite's bound-parameter limit)
REFRESH_BATCH = 500  # customers remade per transaction: ~0.1 s holding SQLite's write lock, which intake waits for


def made_from(kind: str, customer_in: Any) -> Select[Any]:
    """The facts of one kind, worked out from the mirror's rows, for the customers ``customer_in`` admits (a column
    predicate): account, kind, subject, customer, when, seconds, yes/no, group — ``kpi_facts``' columns in order."""
    if kind == "lead":
        d, c = deals.c, customers.c
        return (
            _row(
                d.account_id,
                literal(kind),
                d.id,
                d.customer_id,
                d.lead_at,
                elapsed_seconds(d.lead_at, d.first_response_at),
                _none(Integer()),
                c.lead_source,
            )
            .join(customers, c.id == d.customer_id)
            .where(d.lead_at.is_not(None), customer_in(d.customer_id))
        )
    if kind == "completion":
        h = service_history.c
        return _row(
            h.account_id,
            literal(kind),
            cast(h.id, String),
            h.customer_id,
            h.completed_at,
            elapsed_seconds(h.completed_at, first_touch(h)),
            _none(Integer()),
            crew_text(h.technicians),
        ).where(customer_in(h.customer_id))
    if kind == "paid":
        j = jobs.c
        return _row(
            j.account_id,
            literal(kind),
            j.id,
            j.customer_id,
            j.paid_at,
            _none(Float()),
            _flag(review_clicked(j, j.account_id)),
            crew_text(j.technicians),
        ).where(j.paid_at.is_not(None), customer_in(j.customer_id))
    a = activities.c
    made = (a.account_id, literal(kind), cast(a.id, String), a.customer_id, a.at)
    sent = (a.kind == "estimate.sent") & a.applied.is_(True)
    return _row(*made, _none(Float()), _flag(followed_up(a)), _none(Text())).where(sent, customer_in(a.customer_id))


def _none(kind: TypeEngine[Any]) -> ColumnElement[Any]:
    """A NULL of a type (PostgreSQL takes an untyped one in a union for text)."""
    return cast(null(), kind)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _row(*columns: ColumnElement[Any]) -> Select[Any]:
    """A select of ``kpi_facts``' columns in order, each named as there (a union then lines up by name too)."""
    return select(*(column.label(name) for column, name in zip(columns, COLUMNS, strict=True)))


def _marked(account_id: str) -> Select[Any]:
    return select(kpi_dirty.c.customer_id).where(kpi_dirty.c.account_id == account_id)


def marked_customers(conn: Connection, account_id: str) -> list[str] | None:
    """The customers marked since the worker's last refresh, or None when there are more than ``BATCH`` of them."""
    found = conn.execute(_marked(account_id).distinct().limit(BATCH + 1)).scalars().all()
    return None if len(found) > BATCH else list(found)


def current(kind: str, account_id: str, since: datetime, until: datetime, marked: list[str] | None) -> Subquery:
    """The span's facts of one kind as (at, seconds, hit, grp): kept rows for customers not ``marked`` (changed since
    the worker's last refresh; None: too many to name), and the marked customers' worked out from the mirror now."""
    f = kpi_facts.c
    kept = select(f.at, f.seconds, f.hit, f.grp).where(
        f.account_id == account_id, f.kind == kind, f.at >= since, f.at <= until
    )
    if marked == []:
        return kept.subquery()
    # Named, the marked customers are found through each table's customer index (a few rows); past BATCH of them
    # (after the migration, a bulk load) the window's rows are read and each tested against the marks.
    chosen = _marked(account_id) if marked is None else marked
    live = made_from(kind, lambda customer: customer.in_(chosen)).subquery()
    fresh = select(live.c.at, live.c.seconds, live.c.hit, live.c.grp).where(
        live.c.account_id == account_id,
        live.c.at >= literal(since, UtcDateTime()),
        live.c.at <= literal(until, UtcDateTime()),
    )
    return union_all(kept.where(f.customer_id.not_in(chosen)), fresh).subquery()


def refresh(conn: Connection, account_id: str, limit: int = REFRESH_BATCH) -> int:
    """Remake the facts of up to ``limit`` marked customers of the account from the mirror's rows and clear their
    marks; returns how many customers were remade (0: the facts are current)."""
    d = kpi_dirty.c
    if conn.dialect.name == "postgresql":
        # Two workers remaking one customer would both insert its facts; SQLite serialises writers already.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('fieldrelay.kpi_facts'))"))
    marks = conn.execute(select(d.id, d.customer_id).where(d.account_id == account_id).order_by(d.id).limit(limit))
    rows = marks.all()
    chosen = sorted({customer for _, customer in rows})
    for start in range(0, len(chosen), BATCH):
        batch = chosen[start : start + BATCH]
        f = kpi_facts.c
        conn.execute(delete(kpi_facts).where(f.account_id == account_id, f.customer_id.in_(batch)))
        for kind in KINDS:
            made = made_from(kind, lambda customer, batch=batch: customer.in_(batch))
            conn.execute(insert(kpi_facts).from_select(list(COLUMNS), made))
    # Only the marks read: one made by a transaction still open when they were read stays for the next refresh.
    ids = [mark_id for mark_id, _ in rows]
    for start in range(0, len(ids), BATCH):
        conn.execute(delete(kpi_dirty).where(d.id.in_(ids[start : start + BATCH])))
    return len(chosen)


def refresh_all(conn: Connection, account_id: str) -> int:
    """Remake every marked customer's facts (after a bulk load, or to catch up at once); returns how many."""
    total = 0
    while made := refresh(conn, account_id):
        total += made
    return total
