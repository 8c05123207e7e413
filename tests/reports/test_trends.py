"""The KPIs over a window: each figure, its buckets, its split and narrowing, read from rows on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.reports.trends import KpiFigures, buckets, kpi_figures
from fieldrelay.runtime import Runtime
from fieldrelay.storage.kpis.stale import StaleCheck, record_check
from tests.storage.kpi_rows import ACCOUNT, KpiShop

MIN = timedelta(minutes=1)
DAY = timedelta(days=1)


def _figures(runtime: Runtime, now: datetime, days: int, **narrow: str) -> KpiFigures:
    with runtime.engine.connect() as conn:
        return kpi_figures(conn, ACCOUNT, now, days, **narrow)


def test_each_kpi_over_the_window_with_its_split(runtime: Runtime, clock: SimulatedClock) -> None:
    now, shop = clock.now(), KpiShop(runtime.engine)
    shop.lead(now - 1 * DAY, 2 * MIN, "google")
    shop.lead(now - 2 * DAY, 8 * MIN, "google")
    shop.lead(now - 3 * DAY, 20 * MIN, "yelp")
    shop.lead(now - 3 * DAY, None, "yelp")  # unanswered: counted, no minutes
    shop.lead(now - 20 * DAY, 1 * MIN, "yelp")  # outside 7 days, inside 30
    shop.job(now - 1 * DAY, ["Ana"], touched_after=10 * MIN, paid_after=MIN, review_clicked=True)
    shop.job(now - 2 * DAY, ["Ana", "Ben"], touched_after=30 * MIN, paid_after=MIN)
    shop.job(now - 4 * DAY, ["Ben"])  # never texted, never paid
    shop.estimate(now - 5 * DAY, 3 * 60 * MIN)
    shop.estimate(now - 4 * DAY, 50 * 60 * MIN)  # followed up, but after 48 h
    shop.referral(now - 2 * DAY, "rewarded")
    shop.referral(now - 3 * DAY, "pending")

    week = _figures(runtime, now, 7)
    lead = week.trend("speed_to_lead")
    assert (lead.value, lead.count) == (8.0, 4)
    assert lead.groups == (("google", 5.0, 2), ("yelp", 20.0, 2))
    lag = week.trend("followup_lag")
    assert (lag.value, lag.count) == (20.0, 3)
    assert lag.groups == (("Ana", 20.0, 2), ("Ben", 30.0, 2))
    reviews = week.trend("reviews_per_20_jobs")
    assert (reviews.value, reviews.count) == (10.0, 2)
    assert week.trend("estimates_followed_48h").value == 0.5
    assert week.referrals == {"referred": 2, "qualified": 1, "rewarded": 1, "rejected": 0}
    assert week.stale_rate is None  # no check ran yet

    month = _figures(runtime, now, 30)
    assert (month.trend("speed_to_lead").value, month.trend("speed_to_lead").count) == (5.0, 5)
    assert len(month.trend("speed_to_lead").points) == 30


def test_the_trend_buckets_and_the_narrowing(runtime: Runtime, clock: SimulatedClock) -> None:
    now, shop = clock.now(), KpiShop(runtime.engine)
    shop.job(now - 1 * DAY - MIN, ["Ana"], touched_after=4 * MIN)
    shop.job(now - 1 * DAY - 2 * MIN, ["Ben"], touched_after=40 * MIN)
    shop.job(now - 6 * DAY - MIN, ["Ana"], touched_after=6 * MIN)

    lag = _figures(runtime, now, 7).trend("followup_lag")
    assert [p.value for p in lag.points] == [6.0, None, None, None, None, 22.0, None]
    ana = _figures(runtime, now, 7, technician="Ana").trend("followup_lag")
    assert (ana.value, ana.count) == (5.0, 2)
    assert [p.value for p in ana.points][-2] == 4.0
    # The split still compares everyone while the trend is narrowed.
    assert [g for g, _, _ in ana.groups] == ["Ana", "Ben"]
    # Narrowing by a lead source leaves the technician KPIs alone.
    assert _figures(runtime, now, 7, source="google").trend("followup_lag").value == lag.value


def test_ninety_days_go_week_by_week_and_stale_checks_make_the_stale_trend(
    runtime: Runtime, clock: SimulatedClock
) -> None:
    now = clock.now()
    step, starts = buckets(90, now)
    assert step == timedelta(days=7) and len(starts) == 13 and starts[-1] == now - step
    with runtime.engine.begin() as conn:
        record_check(conn, ACCOUNT, StaleCheck(now - 40 * DAY, 100, 9, 10))
        record_check(conn, ACCOUNT, StaleCheck(now - 2 * DAY, 200, 3, 10))
    assert _figures(runtime, now, 7).stale_rate == 0.015
    assert [c.stale for c in _figures(runtime, now, 90).stale_checks] == [9, 3]
    assert _figures(runtime, now - 10 * DAY, 7).stale_rate is None
