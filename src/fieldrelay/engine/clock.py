"""Clocks: the real one, and a simulated one the demo and tests move by hand (the port is service/clock.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class RealClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that stands still until advanced; safe to share between threads."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The simulated current time."""
        with self._lock:
            return self._now

    def advance_to(self, moment: datetime) -> datetime:
        """Move time forward to ``moment`` (no-op if it is already past) and return the new time."""
        with self._lock:
            self._now = max(self._now, moment.astimezone(UTC))
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward (never back) and return the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now
