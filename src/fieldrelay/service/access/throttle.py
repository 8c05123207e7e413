"""Sign-in throttling: a few failed tries per login and per client a minute, then a wait.

Not the webhooks' SlidingWindowLimiter (api/ratelimit.py): this one counts only failures, forgets a login's failures
when it signs in, and says how long to wait. Kept in process memory, as a deployment runs few API processes.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable


class LoginThrottle:
    """At most ``limit`` failures per key in any ``window_seconds``; keys are a login and a client address."""

    def __init__(self, limit: int = 5, window_seconds: float = 60.0, max_keys: int = 50_000) -> None:
        self._limit = limit
        self._window = window_seconds
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        hits = self._failures.get(key)
        if hits is not None:
            while hits and hits[0] <= now - self._window:
                hits.popleft()
        return hits

    def wait_seconds(self, keys: Iterable[str], now: float) -> int:
        """Seconds until another try is allowed for all of ``keys`` (0: go ahead)."""
        wait = 0.0
        for key in keys:
            hits = self._recent(key, now)
            if hits is not None and len(hits) >= self._limit:
                wait = max(wait, hits[0] + self._window - now)
        return int(wait) + (1 if wait > int(wait) else 0)

    def failed(self, keys: Iterable[str], now: float) -> None:
        """Count a failed try against each key."""
        for key in keys:
            hits = self._failures.get(key)
            if hits is None:
                if len(self._failures) >= self._max_keys:
                    self._failures.popitem(last=False)  # bounded memory under a flood: forget the oldest key
                hits = self._failures[key] = deque()
            else:
                self._failures.move_to_end(key)
            hits.append(now)

    def succeeded(self, key: str) -> None:
        """Forget the failures of a login that has just signed in."""
        self._failures.pop(key, None)
