"""One sample per thing a KPI counts (a lead, a completed job, a paid job, a sent estimate, a referral), read for a
span of time. ``fieldrelay report --json`` and the office app's Reports page both aggregate these same samples."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, exists, func, select

from fieldrelay.storage.handoff.tables import referrals
from fieldrelay.storage.tables import activities, customers, deals, jobs, messages, service_history

FOLLOWED_WITHIN = timedelta(hours=48)
OPEN_ESTIMATE_STAGES = ("estimate_sent", "no_decision")
NOBODY = "(none)"  # the group of a sample with no technician, lead source or owner on record


@dataclass(frozen=True)
class Sample:
    """One counted thing: when it happened, the groups it belongs to (technicians, lead source), and its value —
    minutes for a time KPI, 1.0 / 0.0 for a yes/no one, None when it has not happened yet (an unanswered lead)."""

    at: datetime
    groups: tuple[str, ...]
    value: float | None


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 60


def _names(value: object) -> tuple[str, ...]:
    names = tuple(str(name) for name in value) if isinstance(value, list | tuple) else ()
    return names or (NOBODY,)


def lead_samples(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[Sample]:
    """Leads that arrived in the span: minutes to the first response (None: unanswered), by lead source."""
    d, c = deals.c, customers.c
    rows = conn.execute(
        select(d.lead_at, d.first_response_at, c.lead_source)
        .join(customers, c.id == d.customer_id)
        .where(d.account_id == account_id, d.lead_at >= since, d.lead_at <= until)
    ).all()
    return [Sample(r.lead_at, (r.lead_source or NOBODY,), _minutes(r.lead_at, r.first_response_at)) for r in rows]


def completion_samples(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[Sample]:
    """Jobs completed in the span: minutes from completion to the first message sent to the customer, by technician."""
    h, m = service_history.c, messages.c
    first_touch = (
        select(func.min(m.sent_at))
        .where(m.customer_id == h.customer_id, m.sent_at >= h.completed_at)
        .correlate(service_history)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(h.completed_at, h.technicians, first_touch.label("touched_at")).where(
            h.account_id == account_id, h.completed_at >= since, h.completed_at <= until
        )
    ).all()
    return [Sample(r.completed_at, _names(r.technicians), _minutes(r.completed_at, r.touched_at)) for r in rows]


def paid_job_samples(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[Sample]:
    """Jobs paid in the span: 1.0 when the customer clicked a review ask about the job (the nearest fieldrelay sees
    to a review posted), else 0.0; by technician."""
    j, m = jobs.c, messages.c
    clicked = exists().where(
        m.job_id == j.id, m.purpose.like("review%"), m.clicked_at.is_not(None), m.account_id == account_id
    )
    rows = conn.execute(
        select(j.paid_at, j.technicians, clicked.label("clicked")).where(
            j.account_id == account_id, j.paid_at >= since, j.paid_at <= until
        )
    ).all()
    return [Sample(r.paid_at, _names(r.technicians), 1.0 if r.clicked else 0.0) for r in rows]


def estimate_samples(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[Sample]:
    """Estimates sent in the span: 1.0 when the customer heard from us (or decided) within 48 hours, else 0.0."""
    a = activities.c
    sent = conn.execute(
        select(a.customer_id, a.at).where(
            a.account_id == account_id, a.kind == "estimate.sent", a.applied.is_(True), a.at >= since, a.at <= until
        )
    ).all()
    logged: dict[str, list[datetime]] = {}
    # A follow-up logged, or the customer's decision arriving from the field tool (which answers the follow-ups):
    # either way the estimate did not hang unanswered. Paired here rather than in SQL, where interval arithmetic
    # differs between SQLite and PostgreSQL.
    for row in conn.execute(
        select(a.customer_id, a.at).where(
            a.account_id == account_id,
            a.kind.in_(("followup.logged", "followup.closed")),
            a.at >= since,
            a.at <= until + FOLLOWED_WITHIN,
        )
    ):
        logged.setdefault(row.customer_id, []).append(row.at)
    return [
        Sample(s.at, (NOBODY,), float(any(s.at <= t <= s.at + FOLLOWED_WITHIN for t in logged.get(s.customer_id, []))))
        for s in sent
    ]


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
