"""Sequence timing: business hours (weekends, before opening, after closing) and season windows across DST."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from fieldrelay.domain.sequence_time import next_business_moment, season_moment

CHICAGO = ZoneInfo("America/Chicago")
WEEKDAYS = {day: (time(8), time(17)) for day in range(5)}


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Chicago as an aware datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


def test_inside_business_hours_is_unchanged() -> None:
    moment = local(2026, 11, 3, 10, 0).astimezone(UTC)
    assert next_business_moment(moment, CHICAGO, WEEKDAYS) == moment


def test_before_opening_waits_for_the_opening_the_same_day() -> None:
    assert next_business_moment(local(2026, 11, 3, 6, 30), CHICAGO, WEEKDAYS) == local(2026, 11, 3, 8, 0)


def test_friday_evening_waits_for_monday_morning() -> None:
    assert next_business_moment(local(2026, 11, 6, 17, 0), CHICAGO, WEEKDAYS) == local(2026, 11, 9, 8, 0)


def test_a_shop_without_hours_does_not_wait() -> None:
    moment = local(2026, 11, 7, 23, 0)
    assert next_business_moment(moment, CHICAGO, {}) == moment


def test_in_season_is_unchanged() -> None:
    moment = local(2026, 10, 5, 9, 0)
    assert season_moment(moment, None, frozenset({10, 11}), CHICAGO) == moment


def test_out_of_season_waits_for_the_first_day_of_the_season_at_10_local_across_dst() -> None:
    # From November (standard time) to March 1 (still standard) and to April 1 (daylight time).
    assert season_moment(local(2026, 12, 2, 9), None, frozenset({3}), CHICAGO) == local(2027, 3, 1, 10, 0)
    found = season_moment(local(2026, 12, 2, 9), None, frozenset({4}), CHICAGO)
    assert found == local(2027, 4, 1, 10, 0) and found is not None and found.astimezone(UTC).hour == 15


def test_a_season_that_starts_after_the_latest_moment_is_no_moment() -> None:
    assert season_moment(local(2026, 12, 2, 9), local(2027, 1, 31, 9), frozenset({3, 4, 5}), CHICAGO) is None
    assert season_moment(local(2026, 12, 2, 9), local(2027, 1, 31, 9), frozenset({1}), CHICAGO) == local(2027, 1, 1, 10)


def test_no_months_is_no_moment() -> None:
    assert season_moment(local(2026, 12, 2, 9), None, frozenset(), CHICAGO) is None
