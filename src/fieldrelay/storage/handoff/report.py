"""The lead-handoff SOP's weekly numbers for ``fieldrelay report``: speed to first response, estimates followed up
within 48 hours, and estimates left open for more than a week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import Connection, func, select

from fieldrelay.storage.report import percentile
from fieldrelay.storage.tables import activities, deals

WINDOW = timedelta(days=7)
FOLLOWED_WITHIN = timedelta(hours=48)
OPEN_STAGES = ("estimate_sent", "no_decision")


@dataclass(frozen=True)
class HandoffFigures:
    """The week's handoff numbers (the window is the 7 days before the report)."""

    leads: int
    unanswered: int
    response_median_minutes: float | None
    response_p90_minutes: float | None
    estimates_sent: int
    followed_up_48h: int
    open_estimates_over_7d: int

    @property
    def followed_up_share(self) -> float | None:
        """Share of the week's estimates followed up (or decided by the customer) within 48 hours."""
        return self.followed_up_48h / self.estimates_sent if self.estimates_sent else None

    def as_json(self) -> dict[str, Any]:
        """Machine-readable form."""
        return {
            "leads_last_7_days": self.leads,
            "leads_unanswered": self.unanswered,
            "first_response_minutes_median": self.response_median_minutes,
            "first_response_minutes_p90": self.response_p90_minutes,
            "estimates_sent_last_7_days": self.estimates_sent,
            "estimates_followed_up_within_48h": self.followed_up_48h,
            "estimates_followed_up_share": self.followed_up_share,
            "open_estimates_older_than_7_days": self.open_estimates_over_7d,
        }


def handoff_figures(conn: Connection, account_id: str, now: datetime) -> HandoffFigures:
    """Read the week's numbers as of ``now``."""
    since = now - WINDOW
    d, a = deals.c, activities.c
    leads = conn.execute(
        select(d.lead_at, d.first_response_at).where(d.account_id == account_id, d.lead_at >= since, d.lead_at <= now)
    ).all()
    minutes = sorted(
        (r.first_response_at - r.lead_at).total_seconds() / 60 for r in leads if r.first_response_at is not None
    )
    # An estimate sent (by the field tool or a field outcome) and whether the same customer heard from us in 48 h;
    # paired here rather than in SQL, where interval arithmetic differs between SQLite and PostgreSQL.
    sent = conn.execute(
        select(a.customer_id, a.at).where(
            a.account_id == account_id, a.kind == "estimate.sent", a.applied.is_(True), a.at >= since, a.at <= now
        )
    ).all()
    logged: dict[str, list[datetime]] = {}
    for row in conn.execute(
        # A follow-up logged, or the customer's decision arriving from the field tool (which answers the follow-ups):
        # either way the estimate did not hang unanswered.
        select(a.customer_id, a.at).where(
            a.account_id == account_id, a.kind.in_(("followup.logged", "followup.closed")), a.at >= since
        )
    ):
        logged.setdefault(row.customer_id, []).append(row.at)
    followed = sum(any(s.at <= t <= s.at + FOLLOWED_WITHIN for t in logged.get(s.customer_id, [])) for s in sent)
    stale = conn.execute(
        select(func.count()).where(
            d.account_id == account_id, d.is_open.is_(True), d.stage.in_(OPEN_STAGES), d.stage_at < since
        )
    ).scalar_one()
    return HandoffFigures(
        leads=len(leads),
        unanswered=len(leads) - len(minutes),
        response_median_minutes=round(median(minutes), 1) if minutes else None,
        response_p90_minutes=round(p90, 1) if (p90 := percentile(minutes, 0.9)) is not None else None,
        estimates_sent=len(sent),
        followed_up_48h=followed,
        open_estimates_over_7d=int(stale),
    )
