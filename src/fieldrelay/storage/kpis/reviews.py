"""What the Reviews page reads: the review asks (the review request and the review sequence's steps) due in a span,
counted by channel, review platform and the job's technicians, and the review request's payment-to-text times by
span with what quiet hours held. The database counts: a few hundred groups come back however many asks there were."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, case, func, literal, select

from fieldrelay.storage.kpis.elapsed import elapsed_seconds
from fieldrelay.storage.kpis.samples import NOBODY, Crews, crew_text
from fieldrelay.storage.kpis.sqlfunctions import float_list, list_holds, median, parse_floats
from fieldrelay.storage.tables import jobs, messages

REVIEW_REQUEST = "review_request"
# Payment-to-text spans (label, upper bound in minutes): the request is planned minutes after payment; quiet hours
# push it to the next morning.
LAG_SPANS: tuple[tuple[str, float], ...] = (
    ("under 30 min", 30),
    ("30 to 60 min", 60),
    ("1 to 2 h", 120),
    ("2 to 6 h", 360),
    ("6 to 12 h", 720),
    ("12 to 24 h", 1440),
    ("over 24 h", float("inf")),
)


# SQLite's julianday arithmetic is off by up to ~50 µs: a text sent exactly 30 minutes after its payment (the usual
# case) must fall on the same side of a bound as the exact datetime arithmetic puts it, so bounds allow 1 ms.
NOISE = 0.001  # seconds


def held_after(delay: timedelta) -> timedelta:
    """How long after its trigger a text was planned when quiet hours held it: past the delay, give or take a minute
    for the clock's tick (one rule for ``was_held`` and the database's count of held requests)."""
    return delay + timedelta(minutes=1)


def was_held(trigger_at: datetime, scheduled_for: datetime, delay: timedelta) -> bool:
    """True when the text went out later than planned because the text window was closed (quiet hours)."""
    return scheduled_for - trigger_at > held_after(delay)


@dataclass(frozen=True)
class AskCounts:
    """Review asks alike in channel, platform and technicians: how many were planned, sent, delivered, clicked."""

    channel: str
    platform: str  # the review site of the link carried (google, yelp…); NOBODY when none was recorded
    technicians: tuple[str, ...]
    planned: int
    sent: int
    delivered: int
    clicked: int


@dataclass(frozen=True)
class LagCounts:
    """Review requests sent after a payment, alike in technicians, payment-to-text span and whether quiet hours held
    them."""

    technicians: tuple[str, ...]
    span: int | None  # index into LAG_SPANS; None for a text recorded as sent before its payment
    held: bool
    requests: int
    minutes: tuple[float, ...] = ()  # each request's payment-to-text minutes (for the medians)


def _asks(account_id: str, since: datetime, until: datetime) -> ColumnElement[bool]:
    m = messages.c
    return (
        (m.account_id == account_id)
        & m.purpose.like("review%")
        & (m.scheduled_for >= since)
        & (m.scheduled_for <= until)
    )


def review_ask_counts(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[AskCounts]:
    """Review asks planned for the span (by the time they were due to go), by channel, platform and technicians."""
    m, j = messages.c, jobs.c
    crew = crew_text(j.technicians)
    rows = conn.execute(
        select(
            m.channel,
            m.review_platform,
            crew,
            func.count(),
            func.count(m.sent_at),
            func.count(case((m.status == "delivered", 1))),
            func.count(m.clicked_at),
        )
        .select_from(messages)
        .outerjoin(jobs, j.id == m.job_id)
        .where(_asks(account_id, since, until))
        .group_by(m.channel, m.review_platform, crew)
    ).all()
    crews = Crews()
    return [
        AskCounts(channel, platform or NOBODY, crews[names], *(int(n) for n in counts))
        for channel, platform, names, *counts in rows
    ]


def _lags(account_id: str, since: datetime, until: datetime, delay: timedelta) -> tuple[Select[Any], Any, Any]:
    """The review requests sent: the select, their payment-to-text minutes and whether quiet hours held them."""
    m, j = messages.c, jobs.c
    minutes = elapsed_seconds(m.trigger_at, m.sent_at) / 60
    held = elapsed_seconds(m.trigger_at, m.scheduled_for) > held_after(delay).total_seconds() + NOISE
    query = (
        select()
        .select_from(messages)
        .outerjoin(jobs, j.id == m.job_id)
        .where(
            _asks(account_id, since, until),
            m.purpose == REVIEW_REQUEST,
            m.trigger_at.is_not(None),
            m.sent_at.is_not(None),
        )
    )
    return query, minutes, held


def review_lags(
    conn: Connection, account_id: str, since: datetime, until: datetime, delay: timedelta
) -> list[LagCounts]:
    """Review requests of the span that went out, by technicians, payment-to-text span and held or not."""
    query, minutes, held = _lags(account_id, since, until, delay)
    bounds = [
        (minutes < high - NOISE / 60, literal(k)) for k, (_, high) in enumerate(LAG_SPANS) if high != float("inf")
    ]
    span = case((minutes < 0, literal(None)), *bounds, else_=literal(len(LAG_SPANS) - 1))
    crew = crew_text(jobs.c.technicians)
    held_flag = case((held, 1), else_=0)
    grouped = query.add_columns(crew, span, held_flag, func.count(), float_list(minutes))
    rows = conn.execute(grouped.group_by(crew, span, held_flag)).all()
    crews = Crews()
    return [
        LagCounts(crews[names], None if k is None else int(k), bool(h), int(n), parse_floats(listed))
        for names, k, h, n, listed in rows
    ]


def lag_median(groups: Sequence[LagCounts], technician: str | None = None, held: bool | None = None) -> float | None:
    """The median payment-to-text minutes of ``review_lags``' requests (of one technician's jobs, held or not by quiet
    hours when asked): ``median_lag``'s figure without another pass over the asks. A job with no technician on record
    is no technician's, as there."""
    values = [
        value
        for group in groups
        if (not technician or (technician in group.technicians and group.technicians != (NOBODY,)))
        and (held is None or group.held == held)
        for value in group.minutes
    ]
    return statistics.median(values) if values else None


def median_lag(
    conn: Connection,
    account_id: str,
    since: datetime,
    until: datetime,
    delay: timedelta,
    technician: str | None = None,
    held: bool | None = None,
) -> float | None:
    """The median payment-to-text minutes of the span's review requests (of one technician's jobs, held or not by
    quiet hours when asked), computed by the database."""
    query, minutes, was = _lags(account_id, since, until, delay)
    if technician:
        query = query.where(list_holds(jobs.c.technicians, technician))
    if held is not None:
        query = query.where(was if held else ~was)
    return median(conn, query.add_columns(minutes))
