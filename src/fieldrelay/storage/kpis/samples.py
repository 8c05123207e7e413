"""One sample per thing a KPI counts (a lead, a completed job, a paid job, a sent estimate, a referral), read for a
span of time. ``fieldrelay report --json`` and the office app's Reports page both aggregate these same samples."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Connection, Text, and_, cast, exists, func, literal, select

from fieldrelay.storage.handoff.tables import referrals
from fieldrelay.storage.kpis.elapsed import elapsed_seconds
from fieldrelay.storage.tables import UtcDateTime, activities, customers, deals, jobs, messages, service_history

FOLLOWED_WITHIN = timedelta(hours=48)
OPEN_ESTIMATE_STAGES = ("estimate_sent", "no_decision")
NOBODY = "(none)"  # the group of a sample with no technician, lead source or owner on record
# Review asks' purposes start with "review" (review_request, review_follow_up.<step>): the range of them.
REVIEW_PREFIX, REVIEW_PREFIX_END = "review", "reviex"


class Sample(NamedTuple):  # a tuple, not a dataclass: a 90-day report makes 120,000 of them
    """One counted thing: when it happened (seconds after the span opened), the groups it belongs to (technicians,
    lead source), and its value — minutes for a time KPI, 1.0 / 0.0 for a yes/no one, None when it has not happened
    yet (an unanswered lead)."""

    offset: float
    groups: tuple[str, ...]
    value: float | None


def _opened(since: datetime) -> ColumnElement[datetime]:
    return literal(since, UtcDateTime())


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


def _names(value: object) -> tuple[str, ...]:
    names = tuple(str(name) for name in value) if isinstance(value, list | tuple) else ()
    return names or (NOBODY,)


def crew_text(column: ColumnElement[Any]) -> ColumnElement[str]:
    """A JSON list column (a job's technicians) as its text: a few dozen distinct crews are then decoded once each
    rather than once per row, and PostgreSQL can group by it (its json type has no equality)."""
    return cast(column, Text)


def first_touch(h: Any) -> ColumnElement[datetime]:
    """When the customer of a service record (``service_history.c``) was first sent a message after its completion."""
    m = messages.c
    return (
        select(func.min(m.sent_at))
        .where(m.customer_id == h.customer_id, m.sent_at >= h.completed_at)
        .correlate(service_history)
        .scalar_subquery()
    )


def review_clicked(j: Any, account: ColumnElement[str] | str) -> ColumnElement[bool]:
    """Whether a review ask about the job (``jobs.c``) was clicked: the nearest fieldrelay sees to a review posted."""
    m = messages.c
    # purpose as a range, not LIKE 'review%': SQLite can then seek the job's review asks in
    # ix_messages_job_purpose_clicked instead of walking every message of the account for each job (10 s at 90 days).
    return exists().where(
        m.job_id == j.id,
        m.purpose >= REVIEW_PREFIX,
        m.purpose < REVIEW_PREFIX_END,
        m.clicked_at.is_not(None),
        m.account_id == account,
    )


def followed_up(a: Any) -> ColumnElement[bool]:
    """Whether a sent estimate (``activities.c``) was answered within ``FOLLOWED_WITHIN``."""
    later = activities.alias("later")
    # A follow-up logged, or the customer's decision arriving from the field tool (which answers the follow-ups):
    # either way the estimate did not hang unanswered. The customer already belongs to the account: a filter on the
    # later row's account led PostgreSQL (before statistics) to walk the account's activities per estimate, 21 s.
    return exists().where(
        later.c.customer_id == a.customer_id,
        later.c.kind.in_(("followup.logged", "followup.closed")),
        later.c.at >= a.at,
        elapsed_seconds(a.at, later.c.at) <= FOLLOWED_WITHIN.total_seconds(),
    )


class Crews(dict[str | None, tuple[str, ...]]):
    """The technicians of each crew text seen, decoded once: NOBODY for none on record."""

    def __missing__(self, text: str | None) -> tuple[str, ...]:
        names = _names(json.loads(text) if text else None)
        self[text] = names
        return names


def lead_samples(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[Sample]:
    """Leads that arrived in the span: minutes to the first response (None: unanswered), by lead source."""
    d, c = deals.c, customers.c
    rows = conn.execute(
        select(
            elapsed_seconds(_opened(since), d.lead_at),
            elapsed_seconds(d.lead_at, d.first_response_at),
            c.lead_source,
        )
        .join(customers, c.id == d.customer_id)
        .where(d.account_id == account_id, d.lead_at >= since, d.lead_at <= until)
    ).all()
    return [Sample(offset, (source or NOBODY,), _minutes(seconds)) for offset, seconds, source in rows]


def completion_samples(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[Sample]:
    """Jobs completed in the span: minutes from completion to the first message sent to the customer, by technician."""
    h = service_history.c
    rows = conn.execute(
        select(
            elapsed_seconds(_opened(since), h.completed_at),
            elapsed_seconds(h.completed_at, first_touch(h)),
            crew_text(h.technicians),
        ).where(h.account_id == account_id, h.completed_at >= since, h.completed_at <= until)
    ).all()
    crews = Crews()
    return [Sample(offset, crews[names], _minutes(seconds)) for offset, seconds, names in rows]


def paid_job_samples(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[Sample]:
    """Jobs paid in the span: 1.0 when the customer clicked a review ask about the job (the nearest fieldrelay sees
    to a review posted), else 0.0; by technician."""
    j = jobs.c
    clicked = review_clicked(j, account_id)
    rows = conn.execute(
        select(elapsed_seconds(_opened(since), j.paid_at), crew_text(j.technicians), clicked).where(
            j.account_id == account_id, j.paid_at >= since, j.paid_at <= until
        )
    ).all()
    crews = Crews()
    return [Sample(offset, crews[names], 1.0 if hit else 0.0) for offset, names, hit in rows]


def estimate_samples(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[Sample]:
    """Estimates sent in the span: 1.0 when the customer heard from us (or decided) within 48 hours, else 0.0."""
    a = activities.c
    rows = conn.execute(
        select(elapsed_seconds(_opened(since), a.at), followed_up(a)).where(
            a.account_id == account_id, a.kind == "estimate.sent", a.applied.is_(True), a.at >= since, a.at <= until
        )
    ).all()
    return [Sample(offset, (NOBODY,), 1.0 if hit else 0.0) for offset, hit in rows]


def open_estimates_by_owner(conn: Connection, account_id: str, older_than: datetime) -> dict[str, int]:
    """Deals still waiting on an estimate decision that reached their stage before ``older_than``, by owner."""
    d = deals.c
    rows = conn.execute(
        select(d.owner, func.count())
        .where(
            d.account_id == account_id,
            d.is_open.is_(True),
            d.stage.in_(OPEN_ESTIMATE_STAGES),
            d.stage_at < older_than,
        )
        .group_by(d.owner)
    ).all()
    return {owner or NOBODY: int(n) for owner, n in sorted(rows, key=lambda r: r[0] or "")}


def referral_samples(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[tuple[datetime, str]]:
    """Referrals captured in the span: when, and their status now."""
    r = referrals.c
    query = select(r.captured_at, r.status).where(
        and_(r.account_id == account_id, r.captured_at >= since, r.captured_at <= until)
    )
    return [(row.captured_at, str(row.status)) for row in conn.execute(query)]
