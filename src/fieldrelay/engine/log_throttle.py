"""Rate-limited reports: during an outage every request and every worker pass fails the same way, and a traceback
for each (about a thousand in 20 s of a PostgreSQL outage) drowns the log. One full report per kind per interval
says what is wrong; the ones held back are counted in the next."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Throttle:
    """Lets one report per key through per ``interval_seconds``; counts the rest."""

    def __init__(self, interval_seconds: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str) -> int | None:
        """None when this report is held back; else how many of its kind were held back since the last one."""
        now = self._clock()
        with self._lock:
            if now - self._last.get(key, float("-inf")) < self._interval:
                self._held[key] = self._held.get(key, 0) + 1
                return None
            self._last[key] = now
            return self._held.pop(key, 0)


# Shared by the worker threads and the intake writer of one process.
OUTAGES = Throttle()
