"""A per-client sliding-window limit for webhook endpoints the public can reach (the shop's web forms)."""

from __future__ import annotations

from collections import OrderedDict, deque


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in any ``window_seconds``; kept in process memory.

    Written here rather than taken from a library (``limits``, ``slowapi``): one in-memory window per form and
    IP is all a shop's form needs, and each API process keeping its own count only loosens the limit by the
    number of processes, which is acceptable for spam control.
    """

    def __init__(self, limit: int, window_seconds: float = 60.0, max_keys: int = 100_000) -> None:
        self._limit = limit
        self._window = window_seconds
        self._max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()  # least recently seen first

    def allow(self, key: str, now: float) -> bool:
        """Count a hit for ``key`` at ``now`` (seconds); False when it is over the limit (not counted then)."""
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                # Bounded memory under a flood from many addresses: forget the address seen least recently.
                self._hits.popitem(last=False)
            hits = self._hits[key] = deque()
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            return False
        hits.append(now)
        return True
