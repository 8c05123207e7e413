"""The lead-handoff SOP's weekly numbers for ``fieldrelay report``: speed to first response, estimates followed up
within 48 hours, and estimates left open for more than a week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import Connection

from fieldrelay.storage.kpis.samples import estimate_samples, lead_samples, open_estimates_by_owner
from fieldrelay.storage.report import percentile

WINDOW = timedelta(days=7)
OPEN_FOR = timedelta(days=7)  # an estimate waiting longer than this counts as left open


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


def handoff_figures(conn: Connection, account_id: str, now: datetime, window: timedelta = WINDOW) -> HandoffFigures:
    """Read the numbers of the ``window`` before ``now`` (the samples the office app's Reports page draws)."""
    since = now - window
    leads = lead_samples(conn, account_id, since, now)
    minutes = sorted(s.value for s in leads if s.value is not None)
    sent = estimate_samples(conn, account_id, since, now)
    stale = open_estimates_by_owner(conn, account_id, now - OPEN_FOR)
    return HandoffFigures(
        leads=len(leads),
        unanswered=len(leads) - len(minutes),
        response_median_minutes=round(median(minutes), 1) if minutes else None,
        response_p90_minutes=round(p90, 1) if (p90 := percentile(minutes, 0.9)) is not None else None,
        estimates_sent=len(sent),
        followed_up_48h=int(sum(s.value or 0 for s in sent)),
        open_estimates_over_7d=sum(stale.values()),
    )
