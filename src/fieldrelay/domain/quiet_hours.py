"""When a text may reach a person: only inside the allowed window of their local day (by default 08:00-21:00)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


def next_allowed(moment: datetime, zone: ZoneInfo, opens: time, closes: time) -> datetime:
    """``moment`` if it falls inside [opens, closes) of the recipient's local day, else the next opening, in UTC.

    Local times are built with ``zoneinfo`` on the local calendar date, so a day that changes between daylight and
    standard time still opens at its own 08:00 (US changes happen at 02:00, outside any sensible window).
    """
    local = moment.astimezone(zone)
    if opens <= local.time() < closes:
        return moment
    day = local.date() if local.time() < opens else local.date() + timedelta(days=1)
    return datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
