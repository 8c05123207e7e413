"""The lead-handoff clocks: when the shop is open (weekly hours less holidays), and when each handoff task falls due.

Pure functions of a UTC moment, the shop's zone, its weekly hours (weekday 0=Monday → opens, closes) and its
holidays. A shop with no opening hours at all is treated as always open: there is no opening to wait for.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Hours = Mapping[int, tuple[time, time]]
_HORIZON_DAYS = 60  # a closed stretch longer than two months is a configuration mistake, not a holiday


@dataclass(frozen=True)
class ShopHours:
    """When the shop works: zone, weekly windows and the dates it is closed regardless."""

    zone: ZoneInfo
    hours: Hours
    holidays: Collection[date] = ()

    def window(self, day: date) -> tuple[time, time] | None:
        """The day's opening window, None when closed (a closed weekday or a holiday)."""
        if day in self.holidays:
            return None
        return self.hours.get(day.weekday())

    def is_open(self, moment: datetime) -> bool:
        """Whether the shop is open at ``moment``."""
        if not self.hours:
            return True
        local = moment.astimezone(self.zone)
        window = self.window(local.date())
        return window is not None and window[0] <= local.time() < window[1]

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` when open, else the next moment the shop opens."""
        if not self.hours:
            return moment
        local = moment.astimezone(self.zone)
        for offset in range(_HORIZON_DAYS + 1):
            day = local.date() + timedelta(days=offset)
            window = self.window(day)
            if window is None:
                continue
            opens, closes = window
            if offset == 0:
                if local.time() < opens:
                    return self._at(day, opens)
                if local.time() < closes:
                    return moment
                continue
            return self._at(day, opens)
        return moment

    def _at(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)


def first_response_due(lead_at: datetime, shop: ShopHours, minutes: float) -> datetime:
    """Inside business hours: ``minutes`` after the lead arrived; outside them: the next opening."""
    if shop.is_open(lead_at):
        return lead_at + timedelta(minutes=minutes)
    return shop.next_opening(lead_at)


def followup_dues(sent_at: datetime, shop: ShopHours, cutoff: time) -> list[datetime]:
    """When the three estimate follow-ups fall due.

    First: an estimate sent before ``cutoff`` (shop time) on a business day is followed up the same day, due at that
    day's closing time (the salesperson has the rest of the afternoon); sent later, or on a closed day, at the next
    business opening after that day. Second and third: 48 hours and 5 days after sending, moved to the next opening
    when they fall outside business hours.
    """
    local = sent_at.astimezone(shop.zone)
    window = shop.window(local.date()) if shop.hours else (time(0, 0), time.max)
    if window is not None and local.time() < cutoff and local.time() < window[1]:
        first = datetime.combine(local.date(), window[1], tzinfo=shop.zone).astimezone(UTC)
    else:
        next_day = datetime.combine(local.date() + timedelta(days=1), time(0, 0), tzinfo=shop.zone)
        first = shop.next_opening(next_day.astimezone(UTC))
    return [
        first,
        shop.next_opening(sent_at + timedelta(hours=48)),
        shop.next_opening(sent_at + timedelta(days=5)),
    ]


def in_words(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    """A moment as a customer reads it, in shop time: "today at 8:00 AM", "tomorrow at 8:00 AM", "on Monday at…"."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    clock = local.strftime("%-I:%M %p")
    days = (local.date() - today).days
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"tomorrow at {clock}"
    if days < 7:
        return f"on {local:%A} at {clock}"
    return f"on {local:%A, %B} {local.day} at {clock}"
