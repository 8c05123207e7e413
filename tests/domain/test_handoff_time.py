"""The lead-handoff clocks: first-response due times, the 15:00 follow-up rule, weekends, holidays, in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fieldrelay.domain.handoff_time import ShopHours, first_response_due, followup_dues, in_words

CHICAGO = ZoneInfo("America/Chicago")
WEEKDAYS = {day: (time(8, 0), time(17, 0)) for day in range(5)}
THANKSGIVING = date(2026, 11, 26)  # a Thursday
SHOP = ShopHours(CHICAGO, WEEKDAYS, frozenset({THANKSGIVING}))


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A shop-time moment in November 2026 (the 2nd is a Monday), as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


def test_a_lead_inside_business_hours_is_due_five_minutes_after_it_arrived() -> None:
    assert first_response_due(local(2, 10), SHOP, 5) == local(2, 10, 5)


def test_a_lead_after_closing_is_due_at_the_next_mornings_opening() -> None:
    assert first_response_due(local(2, 22), SHOP, 5) == local(3, 8)
    assert first_response_due(local(3, 6, 30), SHOP, 5) == local(3, 8), "before opening: the same morning"


def test_a_friday_evening_lead_waits_for_monday() -> None:
    assert first_response_due(local(6, 18), SHOP, 5) == local(9, 8)
    assert first_response_due(local(7, 12), SHOP, 5) == local(9, 8), "Saturday noon"


def test_a_holiday_is_closed_all_day() -> None:
    assert not SHOP.is_open(local(26, 10))
    assert first_response_due(local(25, 20), SHOP, 5) == local(27, 8), "Wednesday night skips Thanksgiving"
    assert first_response_due(local(26, 10), SHOP, 5) == local(27, 8)


def test_an_estimate_sent_before_three_is_followed_up_the_same_day_at_closing() -> None:
    first, second, third = followup_dues(local(2, 14, 59), SHOP, time(15, 0))
    assert first == local(2, 17)
    assert second == local(4, 14, 59), "48 hours later, a Wednesday afternoon"
    assert third == local(9, 8), "day 5 is a Saturday: Monday's opening"


def test_an_estimate_sent_after_three_is_followed_up_the_next_business_morning() -> None:
    assert followup_dues(local(2, 15, 1), SHOP, time(15, 0))[0] == local(3, 8)
    assert followup_dues(local(6, 15, 1), SHOP, time(15, 0))[0] == local(9, 8), "Friday afternoon → Monday"
    assert followup_dues(local(25, 16), SHOP, time(15, 0))[0] == local(27, 8), "the day after is a holiday"


def test_an_estimate_sent_on_a_weekend_is_followed_up_at_the_next_opening() -> None:
    assert followup_dues(local(7, 10), SHOP, time(15, 0))[0] == local(9, 8)


def test_a_shop_without_hours_is_always_open() -> None:
    always = ShopHours(CHICAGO, {})
    assert first_response_due(local(2, 23), always, 5) == local(2, 23, 5)


def test_the_next_opening_in_words_is_in_shop_time() -> None:
    now = local(2, 22)
    assert in_words(local(3, 8), now, CHICAGO) == "tomorrow at 8:00 AM"
    assert in_words(local(2, 23), now, CHICAGO) == "today at 11:00 PM"
    assert in_words(local(9, 8), local(6, 18), CHICAGO) == "on Monday at 8:00 AM"
    assert in_words(local(9, 8) + timedelta(days=7), local(6, 18), CHICAGO) == "on Monday, November 16 at 8:00 AM"
