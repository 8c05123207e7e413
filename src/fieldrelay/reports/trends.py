"""The KPIs over a window of days: each one's figure for the window, its trend (day by day, or week by week over
90 days), its split by technician or lead source, and the playbook's benchmark band. ``fieldrelay report --json``
(its ``kpis`` section) and the office app's Reports page both call ``kpi_figures``, so they cannot disagree."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import Connection

from fieldrelay.storage.handoff.report import OPEN_FOR
from fieldrelay.storage.kpis.samples import open_estimates_by_owner
from fieldrelay.storage.kpis.stale import StaleCheck, checks_between
from fieldrelay.storage.kpis.tallies import (
    Tally,
    completion_tallies,
    estimate_tallies,
    lead_tallies,
    paid_job_tallies,
    referral_statuses,
)
from fieldrelay.storage.referrals.report import QUALIFIED

WINDOWS = (7, 30, 90)
Reader = Callable[[Connection, str, datetime, datetime, Sequence[datetime]], list[Tally]]


@dataclass(frozen=True)
class Band:
    """The playbook's top-quartile range for a KPI (None: open on that side)."""

    low: float | None
    high: float | None
    text: str

    def holds(self, value: float | None) -> bool | None:
        """True inside the band, False outside, None without a value."""
        if value is None:
            return None
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


def median_minutes(tallies: Sequence[Tally]) -> float | None:
    """The median of the minutes of the things that happened, to a tenth of a minute."""
    values = [value for tally in tallies for value in tally.minutes]
    return round(median(values), 1) if values else None


def share(tallies: Sequence[Tally]) -> float | None:
    """The share of yes (0 to 1)."""
    count = sum(t.total for t in tallies)
    return round(sum(t.hits for t in tallies) / count, 4) if count else None


def per_20(tallies: Sequence[Tally]) -> float | None:
    """Yes per 20 things counted (reviews per 20 jobs)."""
    count = sum(t.total for t in tallies)
    return round(20 * sum(t.hits for t in tallies) / count, 2) if count else None


@dataclass(frozen=True)
class Kpi:
    """One KPI: what it reads, how it sums up, its unit, its benchmark band, what it is split by."""

    key: str
    label: str
    unit: str  # "min", "share" (shown as %), "per 20 jobs"
    read: Reader
    aggregate: Callable[[Sequence[Tally]], float | None]
    band: Band | None = None
    split: str | None = None  # "technician" or "lead source"


# The playbook's bands (top quartile): speed to lead under 5 minutes, follow-up lag under 15 minutes, 7 to 9 reviews
# per 20 jobs; the 48-hour follow-up share has no published band, so none is drawn.
KPIS: tuple[Kpi, ...] = (
    Kpi(
        "speed_to_lead",
        "Speed to lead (median)",
        "min",
        lead_tallies,
        median_minutes,
        Band(None, 5, "under 5 min"),
        "lead source",
    ),
    Kpi(
        "followup_lag",
        "Follow-up lag: job completed to first touch (median)",
        "min",
        completion_tallies,
        median_minutes,
        Band(None, 15, "under 15 min"),
        "technician",
    ),
    Kpi(
        "reviews_per_20_jobs",
        "Reviews per 20 paid jobs (review link clicked)",
        "per 20 jobs",
        paid_job_tallies,
        per_20,
        Band(7, 9, "7 to 9 per 20 jobs"),
        "technician",
    ),
    Kpi("estimates_followed_48h", "Estimates followed up within 48 h", "share", estimate_tallies, share),
)
STALE_BAND = Band(None, 0.02, "under 2%")


@dataclass(frozen=True)
class Point:
    """One bucket of a trend: its start and its figure (None when nothing happened in it)."""

    start: datetime
    value: float | None
    count: int


@dataclass(frozen=True)
class Trend:
    """One KPI over the window: the figure, how many samples made it, the trend, the split."""

    kpi: Kpi
    value: float | None
    count: int
    points: tuple[Point, ...]
    groups: tuple[tuple[str, float | None, int], ...]  # (technician or source, figure, samples), by name

    def as_json(self) -> dict[str, Any]:
        """The figure and its split, as the report's JSON gives them."""
        return {
            "value": self.value,
            "samples": self.count,
            "unit": self.kpi.unit,
            "benchmark": self.kpi.band.text if self.kpi.band else None,
            **({f"by_{self.kpi.split.replace(' ', '_')}": {g: v for g, v, _ in self.groups}} if self.kpi.split else {}),
        }


@dataclass(frozen=True)
class KpiFigures:
    """Every KPI over the ``days`` before ``until``."""

    days: int
    since: datetime
    until: datetime
    trends: tuple[Trend, ...]
    stale_checks: tuple[StaleCheck, ...]
    open_estimates: dict[str, int]  # by deal owner, waiting longer than 7 days now
    referrals: dict[str, int]  # funnel: referred, qualified, rewarded, rejected

    @property
    def stale_rate(self) -> float | None:
        """The latest stale-record check's rate in the window (None: no check ran in it)."""
        return self.stale_checks[-1].rate if self.stale_checks else None

    def trend(self, key: str) -> Trend:
        """The trend of the KPI named ``key``."""
        return next(t for t in self.trends if t.kpi.key == key)

    def as_json(self) -> dict[str, Any]:
        """The machine-readable form (``fieldrelay report --json``, ``kpis``)."""
        latest = self.stale_checks[-1] if self.stale_checks else None
        return {
            "days": self.days,
            "since": iso(self.since),
            "until": iso(self.until),
            **{t.kpi.key: t.as_json() for t in self.trends},
            "stale_rate": {
                "value": self.stale_rate,
                "checked_at": iso(latest.checked_at) if latest else None,
                "benchmark": STALE_BAND.text,
            },
            "open_estimates_older_than_7_days": {
                "value": sum(self.open_estimates.values()),
                "by_owner": self.open_estimates,
            },
            "referral_funnel": self.referrals,
        }


def buckets(days: int, until: datetime) -> tuple[timedelta, list[datetime]]:
    """The trend's step (a day, or a week beyond a month) and the start of each bucket, ending at ``until``."""
    step = timedelta(days=1) if days <= 31 else timedelta(days=7)
    count = -(-days // step.days)
    return step, [until - (count - k) * step for k in range(count)]


def trend_of(kpi: Kpi, tallies: Sequence[Tally], starts: Sequence[datetime], wanted: str | None = None) -> Trend:
    """Sum ``tallies`` up for the window and per bucket with the KPI's own aggregate (only those of the ``wanted``
    technician or source when one is given), and per group (all of them, so the split still compares)."""
    narrowed = [t for t in tallies if wanted in t.groups] if wanted else tallies
    per_bucket: list[list[Tally]] = [[] for _ in starts]
    for tally in narrowed:
        per_bucket[tally.bucket].append(tally)
    by_group: dict[str, list[Tally]] = {}
    for tally in tallies:
        for group in tally.groups:
            by_group.setdefault(group, []).append(tally)
    return Trend(
        kpi,
        kpi.aggregate(narrowed),
        _count(narrowed),
        tuple(Point(start, kpi.aggregate(ts), _count(ts)) for start, ts in zip(starts, per_bucket, strict=True)),
        tuple((group, kpi.aggregate(items), _count(items)) for group, items in sorted(by_group.items())),
    )


def _count(tallies: Sequence[Tally]) -> int:
    return sum(t.total for t in tallies)


def kpi_figures(
    conn: Connection,
    account_id: str,
    until: datetime,
    days: int,
    technician: str | None = None,
    source: str | None = None,
) -> KpiFigures:
    """Read every KPI for the ``days`` before ``until``; a technician or lead source narrows the KPIs split by it."""
    since = until - timedelta(days=days)
    _, starts = buckets(days, until)
    narrowed = {"technician": technician, "lead source": source}
    trends = [
        trend_of(kpi, kpi.read(conn, account_id, since, until, starts), starts, narrowed.get(kpi.split or ""))
        for kpi in KPIS
    ]
    statuses = referral_statuses(conn, account_id, since, until)
    return KpiFigures(
        days=days,
        since=since,
        until=until,
        trends=tuple(trends),
        stale_checks=tuple(checks_between(conn, account_id, since, until)),
        open_estimates=open_estimates_by_owner(conn, account_id, until - OPEN_FOR),
        referrals={
            "referred": sum(statuses.values()),
            "qualified": sum(n for status, n in statuses.items() if status in QUALIFIED),
            "rewarded": statuses.get("rewarded", 0),
            "rejected": statuses.get("rejected", 0),
        },
    )


def format_value(value: float | None, unit: str) -> str:
    """A figure as people read it: ``3.5 min``, ``12.5%``, ``7.5 per 20 jobs``, ``—`` without one."""
    if value is None:
        return "—"
    if unit == "share":
        return f"{value:.1%}"
    return f"{value:g} {unit}"


def iso(moment: datetime) -> str:
    """ISO 8601 with a Z for UTC, as the report's JSON writes times."""
    return moment.isoformat().replace("+00:00", "Z")
