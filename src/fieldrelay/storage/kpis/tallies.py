"""The KPI facts of a window (``facts.py``) counted by the database, bucket by bucket: one tally per trend bucket and
group (lead source or crew) rather than one row per lead or job, so a 90-day page fetches a few hundred rows for the
yes/no KPIs and, for the time KPIs, one number per thing (their medians need every value: a median of daily medians
is not the window's median). The same things and values as ``samples.py`` reads, which the handoff report still
uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Select, case, func, literal, select

from fieldrelay.storage.handoff.tables import referrals
from fieldrelay.storage.kpis.facts import current, marked_customers
from fieldrelay.storage.kpis.samples import NOBODY, Crews
from fieldrelay.storage.kpis.sqlfunctions import float_list, parse_floats


class Tally(NamedTuple):
    """The things one KPI counted in one trend bucket that share their groups (technicians or lead source): how many,
    how many of them were a yes (the yes/no KPIs), and the minutes of those that happened (the time KPIs)."""

    bucket: int
    groups: tuple[str, ...]
    total: int
    hits: int
    minutes: tuple[float, ...]


def bucket_of(moment: ColumnElement[datetime], starts: Sequence[datetime]) -> ColumnElement[int]:
    """The index of the trend bucket ``moment`` falls in: the last one whose start it has reached (the first bucket
    also takes what precedes it: 13 weeks open a day before a 90-day window). Compared as times, not as seconds."""
    bounds = [(moment < start, literal(k)) for k, start in enumerate(starts[1:])]
    last = literal(max(len(starts) - 1, 0))
    return case(*bounds, else_=last) if bounds else last


def _timed(rows: Iterable[Any], groups_of: Callable[[Any], tuple[str, ...]]) -> list[Tally]:
    """Tallies of (bucket, group key, count, float_list of seconds) rows: each bucket and group's minutes."""
    return [
        Tally(int(bucket), groups_of(key), int(n), 0, tuple(seconds / 60 for seconds in parse_floats(listed)))
        for bucket, key, n, listed in rows
    ]


def _counted(rows: Iterable[Any], groups_of: Callable[[Any], tuple[str, ...]]) -> list[Tally]:
    """Tallies of (bucket, group key, count, yes count) rows."""
    return [Tally(int(bucket), groups_of(key), int(n), int(hits or 0), ()) for bucket, key, n, hits in rows]


def _yes(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _grouped(inner: Select[Any], summed: Callable[[Any], ColumnElement[Any]] = func.sum) -> Select[Any]:
    """Count an inner select of (bucket, key, value) rows by bucket and key, with ``summed`` of the values (their
    sum, or every one of them): grouped outside the select that computes the bucket, so PostgreSQL need not match
    the bucket's expression (its bound times) in GROUP BY."""
    rows = inner.subquery()
    bucket, key, value = rows.c
    return select(bucket, key, func.count(), summed(value)).group_by(bucket, key)


def lead_tallies(
    conn: Connection, account_id: str, since: datetime, until: datetime, starts: Sequence[datetime]
) -> list[Tally]:
    """Leads that arrived in the span, by bucket and lead source: minutes to the first response of those answered."""
    facts = current("lead", account_id, since, until, marked_customers(conn, account_id))
    rows = conn.execute(_grouped(select(bucket_of(facts.c.at, starts), facts.c.grp, facts.c.seconds), float_list))
    return _timed(rows, lambda source: (source or NOBODY,))


def completion_tallies(
    conn: Connection, account_id: str, since: datetime, until: datetime, starts: Sequence[datetime]
) -> list[Tally]:
    """Jobs completed in the span, by bucket and crew: minutes from completion to the first message sent to the
    customer."""
    facts = current("completion", account_id, since, until, marked_customers(conn, account_id))
    rows = conn.execute(_grouped(select(bucket_of(facts.c.at, starts), facts.c.grp, facts.c.seconds), float_list))
    return _timed(rows, Crews().__getitem__)


def paid_job_tallies(
    conn: Connection, account_id: str, since: datetime, until: datetime, starts: Sequence[datetime]
) -> list[Tally]:
    """Jobs paid in the span, by bucket and crew: how many, and of how many the customer clicked a review ask."""
    facts = current("paid", account_id, since, until, marked_customers(conn, account_id))
    inner = select(bucket_of(facts.c.at, starts), facts.c.grp, facts.c.hit)
    return _counted(conn.execute(_grouped(inner)), Crews().__getitem__)


def estimate_tallies(
    conn: Connection, account_id: str, since: datetime, until: datetime, starts: Sequence[datetime]
) -> list[Tally]:
    """Estimates sent in the span, by bucket: how many, and how many the customer heard from us about (or decided
    on) within 48 hours."""
    facts = current("estimate", account_id, since, until, marked_customers(conn, account_id))
    inner = select(bucket_of(facts.c.at, starts), literal(NOBODY), facts.c.hit)
    return _counted(conn.execute(_grouped(inner)), lambda key: (str(key),))


def referral_statuses(conn: Connection, account_id: str, since: datetime, until: datetime) -> dict[str, int]:
    """Referrals captured in the span, counted by their status now."""
    r = referrals.c
    rows = conn.execute(
        select(r.status, func.count())
        .where(r.account_id == account_id, r.captured_at >= since, r.captured_at <= until)
        .group_by(r.status)
    )
    return {str(status): int(n) for status, n in rows}
