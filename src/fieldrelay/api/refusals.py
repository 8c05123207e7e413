"""Refused webhooks summed up: one log line per interval instead of one per request.

A scan or a misconfigured vendor sends thousands of unsigned requests (16,800 hostile ones wrote 13,500 warning
lines); the counts by connector and status, with one reason of each, say as much. The metric
``fieldrelay_webhooks_total{outcome="refused"}`` still counts every one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger("fieldrelay.webhooks")


class RefusalLog:
    """Counts refusals and writes them as one ``webhook.refused`` line at most every ``interval_seconds``."""

    def __init__(self, interval_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._reasons: dict[str, str] = {}
        self._since = float("-inf")

    def refused(self, connector: str, status: int, reason: str) -> None:
        """Count one refusal; write the summary when the interval has passed (the first refusal at once)."""
        key = f"{connector} {status}"  # bounded: the route names an unknown connector "unknown"
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            self._reasons.setdefault(key, reason)
            due = self._clock() - self._since >= self._interval
        if due:
            self.flush()

    def flush(self) -> None:
        """Write what was counted since the last line (nothing when nothing was refused)."""
        with self._lock:
            counts, reasons = self._counts, self._reasons
            self._counts, self._reasons, self._since = {}, {}, self._clock()
        if counts:
            log.warning("webhook.refused", total=sum(counts.values()), counts=counts, reasons=reasons)
