"""When a sequence step may fall due: inside business hours, or inside the months of a service's season."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Seasonal offers land at this local time on the first day of their season when the job was out of season.
SEASON_START_TIME = time(10, 0)


def next_business_moment(
    moment: datetime, zone: ZoneInfo, hours: Mapping[int, tuple[time, time]], horizon_days: int = 14
) -> datetime:
    """``moment`` if the shop is open then, else its next opening (``hours``: weekday 0=Monday → opens, closes).

    A shop with no opening hours at all gets ``moment`` unchanged: there is nothing to wait for.
    """
    if not hours:
        return moment
    local = moment.astimezone(zone)
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        window = hours.get(day.weekday())
        if window is None:
            continue
        opens, closes = window
        if offset == 0:
            if local.time() < opens:
                return datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
            if local.time() < closes:
                return moment
            continue
        return datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
    return moment


def season_moment(
    earliest: datetime, latest: datetime | None, months: frozenset[int], zone: ZoneInfo
) -> datetime | None:
    """The first moment from ``earliest`` that falls in one of ``months`` (local calendar), not after ``latest``.

    ``earliest`` itself when its month is in season; else 10:00 local on the first day of the next month in season;
    None when that is later than ``latest`` (the offer would come too late) or no month is given.
    """
    if not months:
        return None
    local = earliest.astimezone(zone)
    if local.month in months:
        return earliest
    year, month = local.year, local.month
    for _ in range(12):
        month += 1
        if month > 12:
            year, month = year + 1, 1
        if month in months:
            start = datetime(year, month, 1, SEASON_START_TIME.hour, SEASON_START_TIME.minute, tzinfo=zone)
            found = start.astimezone(UTC)
            return None if latest is not None and found > latest else found
    return None
