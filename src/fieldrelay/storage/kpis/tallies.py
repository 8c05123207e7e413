"""The KPI samples of a window counted by the database, bucket by bucket: one tally per trend bucket and group (lead
source or crew) rather than one row per lead or job, so a 90-day page fetches a few hundred rows for the yes/no KPIs
and, for the time KPIs, one number per thing (their medians need every value: a median of daily medians is not the
window's median). The same things and values as ``samples.py`` reads, which the handoff report still uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Select, case, func, literal, select

from fieldrelay.storage.handoff.tables import referrals
from fieldrelay.storage.kpis.elapsed import elapsed_seconds
from fieldrelay.storage.kpis.samples import (
    FOLLOWED_WITHIN,
    NOBODY,
    REVIEW_PREFIX,
    REVIEW_PREFIX_END,
    Crews,
    crew_text,
)
from fieldrelay.storage.tables import activities, customers, deals, messages, service_history
from fieldrelay.storage.tables import jobs as jobs_table


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
    """Tallies of (bucket, group key, seconds or None) rows: each bucket and group's count and minutes."""
    counts: dict[tuple[int, Any], int] = {}
    minutes: dict[tuple[int, Any], list[float]] = {}
    for bucket, key, seconds in rows:
        index = (bucket, key)
        counts[index] = counts.get(index, 0) + 1
        if seconds is not None:
            minutes.setdefault(index, []).append(seconds / 60)
    return [Tally(b, groups_of(key), n, 0, tuple(minutes.get((b, key), ()))) for (b, key), n in counts.items()]


def _counted(rows: Iterable[Any], groups_of: Callable[[Any], tuple[str, ...]]) -> list[Tally]:
    """Tallies of (bucket, group key, count, yes count) rows."""
    return [Tally(int(bucket), groups_of(key), int(n), int(hits or 0), ()) for bucket, key, n, hits in rows]


def _yes(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _grouped(inner: Select[int, str, int]) -> Select[Any, Any, Any, Any]:
    """Count an inner select of (bucket, key, yes) rows by bucket and key: grouped outside the select that computes
    the bucket, so PostgreSQL need not match the bucket's expression (its bound times) in GROUP BY."""
    rows = inner.subquery()
    bucket, key, hit = rows.c
    return select(bucket, key, func.count(), func.sum(hit)).group_by(bucket, key)


def lead_tallies(
    conn: Connection, account_id: str, since: datetime, until: datetime, starts: Sequence[datetime]
) -> list[Tally]:
    """Leads that arrived in the span, by bucket and lead source: minutes to the first response of those answered."""
    d, c = deals.c, customers.c
    rows = conn.execute(
        select(bucket_of(d.lead_at, starts), c.lead_source, elapsed_seconds(d.lead_at, d.first_response_at))
        .join(customers, c.id == d.customer_id)
        .where(d.account_id == account_id, d.lead_at >= since, d.lead_at <= until)
    )
    return _timed(rows, lambda source: (source or NOBODY,))


def completion_tallies(
    conn: Connection, account_id: str, since: datetime, until: datetime, starts: Sequence[datetime]
) -> list[Tally]:
    """Jobs completed in the span, by bucket and crew: minutes from completion to the first message sent to the
    customer."""
    h, m = service_history.c, messages.c
    first_touch = (
        select(func.min(m.sent_at))
        .where(m.customer_id == h.customer_id, m.sent_at >= h.completed_at)
        .correlate(service_history)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            bucket_of(h.completed_at, starts), crew_text(h.technicians), elapsed_seconds(h.completed_at, first_touch)
        ).where(h.account_id == account_id, h.completed_at >= since, h.completed_at <= until)
    )
    return _timed(rows, Crews().__getitem__)


def paid_job_tallies(
    conn: Connection, account_id: str, since: datetime, until: datetime, starts: Sequence[datetime]
) -> list[Tally]:
    """Jobs paid in the span, by bucket and crew: how many, and of how many the customer clicked a review ask."""
    j, m = jobs_table.c, messages.c
    # purpose as a range, not LIKE 'review%': SQLite seeks the job's review asks in ix_messages_job_purpose_clicked.
    clicked = (
        select(literal(1))
        .where(
            m.job_id == j.id,
            m.purpose >= REVIEW_PREFIX,
            m.purpose < REVIEW_PREFIX_END,
            m.clicked_at.is_not(None),
            m.account_id == account_id,
        )
        .exists()
    )
    inner = select(bucket_of(j.paid_at, starts), crew_text(j.technicians), _yes(clicked)).where(
        j.account_id == account_id, j.paid_at >= since, j.paid_at <= until
    )
    return _counted(conn.execute(_grouped(inner)), Crews().__getitem__)


def estimate_tallies(
    conn: Connection, account_id: str, since: datetime, until: datetime, starts: Sequence[datetime]
) -> list[Tally]:
    """Estimates sent in the span, by bucket: how many, and how many the customer heard from us about (or decided
    on) within 48 hours."""
    a = activities.c
    later = activities.alias("later")
    # As samples.estimate_samples: no account filter on the later row (the customer already belongs to the account).
    followed = (
        select(literal(1))
        .where(
            later.c.customer_id == a.customer_id,
            later.c.kind.in_(("followup.logged", "followup.closed")),
            later.c.at >= a.at,
            elapsed_seconds(a.at, later.c.at) <= FOLLOWED_WITHIN.total_seconds(),
        )
        .exists()
    )
    inner = select(bucket_of(a.at, starts), literal(NOBODY), _yes(followed)).where(
        a.account_id == account_id, a.kind == "estimate.sent", a.applied.is_(True), a.at >= since, a.at <= until
    )
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
