"""What the Reviews page reads: each review ask (the review request and the review sequence's steps) sent in a span,
with its channel, the job's technicians, whether it was delivered and clicked, and for the review request its
payment-to-text time and whether quiet hours held it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from fieldrelay.storage.kpis.samples import NOBODY
from fieldrelay.storage.tables import jobs, messages

REVIEW_REQUEST = "review_request"


def was_held(trigger_at: datetime, scheduled_for: datetime, delay: timedelta) -> bool:
    """True when the text went out later than planned because the text window was closed (quiet hours): moved past
    the trigger plus the delay, give or take a minute for the clock's tick."""
    return scheduled_for > trigger_at + delay + timedelta(minutes=1)


@dataclass(frozen=True)
class ReviewAsk:
    """One review ask that went out (or was meant to) in the span."""

    purpose: str
    channel: str
    technicians: tuple[str, ...]
    sent: bool
    delivered: bool
    clicked: bool
    lag_minutes: float | None  # payment to the review-request text; None for the other asks and unsent ones
    held: bool


def review_asks(
    conn: Connection, account_id: str, since: datetime, until: datetime, delay: timedelta
) -> list[ReviewAsk]:
    """Review asks planned for the span (by the time they were due to go), newest last."""
    m, j = messages.c, jobs.c
    rows = conn.execute(
        select(m.purpose, m.channel, m.status, m.sent_at, m.clicked_at, m.trigger_at, m.scheduled_for, j.technicians)
        .outerjoin(jobs, j.id == m.job_id)
        .where(
            m.account_id == account_id,
            m.purpose.like("review%"),
            m.scheduled_for >= since,
            m.scheduled_for <= until,
        )
        .order_by(m.scheduled_for)
    ).all()
    asks = []
    for r in rows:
        request = r.purpose == REVIEW_REQUEST and r.trigger_at is not None
        lag = (r.sent_at - r.trigger_at).total_seconds() / 60 if request and r.sent_at else None
        names = tuple(str(n) for n in r.technicians or ()) or (NOBODY,)
        asks.append(
            ReviewAsk(
                purpose=r.purpose,
                channel=r.channel,
                technicians=names,
                sent=r.sent_at is not None,
                delivered=r.status == "delivered",
                clicked=r.clicked_at is not None,
                lag_minutes=lag,
                held=request and r.sent_at is not None and was_held(r.trigger_at, r.scheduled_for, delay),
            )
        )
    return asks
