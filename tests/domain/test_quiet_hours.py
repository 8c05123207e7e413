"""Quiet hours: a text due outside the recipient's allowed window waits for its next opening."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from fieldrelay.domain.quiet_hours import next_allowed

CHICAGO = ZoneInfo("America/Chicago")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
OPENS, CLOSES = time(8), time(21)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local wall-clock time as an aware datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=zone)


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (local(CHICAGO, 2026, 11, 2, 9, 30), local(CHICAGO, 2026, 11, 2, 9, 30)),  # inside: as due
        (local(CHICAGO, 2026, 11, 2, 8, 0), local(CHICAGO, 2026, 11, 2, 8, 0)),  # the opening minute is allowed
        (local(CHICAGO, 2026, 11, 2, 6, 15), local(CHICAGO, 2026, 11, 2, 8, 0)),  # early: the same morning
        (local(CHICAGO, 2026, 11, 2, 21, 0), local(CHICAGO, 2026, 11, 3, 8, 0)),  # closing minute: next morning
        (local(CHICAGO, 2026, 11, 2, 23, 59), local(CHICAGO, 2026, 11, 3, 8, 0)),
    ],
)
def test_a_text_waits_for_the_next_opening_of_the_recipients_day(due: datetime, expected: datetime) -> None:
    assert next_allowed(due.astimezone(UTC), CHICAGO, OPENS, CLOSES) == expected.astimezone(UTC)


def test_the_window_is_the_recipients_own_day_not_the_shops() -> None:
    due = local(CHICAGO, 2026, 11, 2, 22, 30)  # 20:30 in Los Angeles: still allowed there
    assert next_allowed(due.astimezone(UTC), LOS_ANGELES, OPENS, CLOSES) == due.astimezone(UTC)
    assert next_allowed(due.astimezone(UTC), CHICAGO, OPENS, CLOSES) == local(CHICAGO, 2026, 11, 3, 8).astimezone(UTC)


@pytest.mark.parametrize(
    ("night", "morning_utc"),
    [
        # Daylight saving ends on 2026-11-01 at 02:00: 08:00 that morning is CST, UTC-6.
        (datetime(2026, 11, 1, 3, 0, tzinfo=UTC), datetime(2026, 11, 1, 14, 0, tzinfo=UTC)),
        # It starts on 2026-03-08 at 02:00: 08:00 that morning is CDT, UTC-5.
        (datetime(2026, 3, 8, 5, 0, tzinfo=UTC), datetime(2026, 3, 8, 13, 0, tzinfo=UTC)),
    ],
)
def test_a_day_that_changes_clocks_still_opens_at_its_own_eight(night: datetime, morning_utc: datetime) -> None:
    assert next_allowed(night, CHICAGO, OPENS, CLOSES) == morning_utc
