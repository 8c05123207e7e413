"""The Reviews page's reads on both databases: the exact median the database computes, a technician found in a job's
JSON list, and the payment-to-text spans with what quiet hours held."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest
from sqlalchemy import Float, false, literal, select, union_all

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.storage.kpis.reviews import LAG_SPANS, lag_median, median_lag, review_ask_counts, review_lags
from fieldrelay.storage.kpis.samples import NOBODY
from fieldrelay.storage.kpis.sqlfunctions import median
from tests.storage.kpi_rows import ACCOUNT, KpiShop

DAY, MIN, DELAY = timedelta(days=1), timedelta(minutes=1), timedelta(minutes=30)


@pytest.mark.parametrize("values", [[], [4.0], [3.5, 1.25], [9.0, 1.0, 7.5, 2.0, 2.0], [0.1, 0.2, 0.30000000000000004]])
def test_the_databases_median_is_statistics_median(runtime: Runtime, values: list[float]) -> None:
    none = select(literal(0.0, Float()).label("v")).where(false())  # no rows at all
    rows = union_all(*(select(literal(v, Float()).label("v")) for v in values), none).subquery()
    with runtime.engine.connect() as conn:
        found = median(conn, select(rows.c.v))
    assert found == (statistics.median(values) if values else None)


def test_asks_are_counted_by_platform_and_crew_and_the_median_narrows_to_a_technician(
    runtime: Runtime, clock: SimulatedClock
) -> None:
    now, shop = clock.now(), KpiShop(runtime.engine)
    paid = now - 2 * DAY
    shop.review_ask(paid, ["Ana"], paid + 30 * MIN, clicked=True)
    shop.review_ask(paid, ["Ana", "Ben"], paid + 31 * MIN, platform="yelp")
    shop.review_ask(paid, ["Ben"], paid + 14 * 60 * MIN)  # held overnight by quiet hours
    shop.review_ask(paid, [], paid + 3 * DAY, sent=False, platform=None)  # planned for later, no crew on record
    since = now - 7 * DAY
    with runtime.engine.connect() as conn:
        counts = review_ask_counts(conn, ACCOUNT, since, now + 7 * DAY)
        lags = review_lags(conn, ACCOUNT, since, now, DELAY)
        everyone = median_lag(conn, ACCOUNT, since, now, DELAY)
        ben = median_lag(conn, ACCOUNT, since, now, DELAY, "Ben")
        ben_not_held = median_lag(conn, ACCOUNT, since, now, DELAY, "Ben", held=False)
        nobody = median_lag(conn, ACCOUNT, since, now, DELAY, "Cy")
    assert sorted((c.platform, c.technicians, c.planned, c.sent, c.clicked) for c in counts) == [
        (NOBODY, (NOBODY,), 1, 0, 0),
        ("google", ("Ana",), 1, 1, 1),
        ("google", ("Ben",), 1, 1, 0),
        ("yelp", ("Ana", "Ben"), 1, 1, 0),
    ]
    spans = sorted((g.technicians, LAG_SPANS[g.span or 0][0], g.held, g.requests) for g in lags)
    assert spans == [
        (("Ana",), "30 to 60 min", False, 1),
        (("Ana", "Ben"), "30 to 60 min", False, 1),  # 31 minutes: within the minute's grace, not held
        (("Ben",), "12 to 24 h", True, 1),
    ]
    # SQLite's julianday arithmetic is exact to some microseconds; the page shows tenths of a minute.
    assert (everyone, ben, ben_not_held) == pytest.approx((31.0, (31 + 14 * 60) / 2, 31.0), abs=1e-5)
    assert nobody is None
    # The page takes its medians from the lag groups' minutes: the same figures as the database's median.
    from_groups = [lag_median(lags), lag_median(lags, "Ben"), lag_median(lags, "Ben", held=False)]
    assert from_groups == [everyone, ben, ben_not_held]
    assert lag_median(lags, "Cy") is None and lag_median(lags, NOBODY) is None
