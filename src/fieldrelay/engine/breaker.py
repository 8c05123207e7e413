"""A circuit breaker per outside CRM: stop calling one that is down, probe it after a cool-down, resume by itself.

Hand-written rather than ``pybreaker``/``circuitbreaker``: those wrap a call and read the wall clock, while here the
decision is taken before a row is sent (an open target's rows are put back without spending a try) and time must
come from the worker's clock, which the outage tests simulate. The state lives in the worker process: with several
workers each keeps its own, so a down target gets at most one probe per worker per cool-down.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from fieldrelay.rules.crm import BreakerSettings


@dataclass
class _State:
    failures: int = 0  # outage failures in a row while closed
    open_until: datetime | None = None  # set while open; the first call after it is the probe
    cool_down: float = 0.0  # seconds the circuit stays open after the last failure


class CircuitBreakers:
    """The breakers of every target one worker delivers to."""

    def __init__(self, settings: BreakerSettings) -> None:
        self._settings = settings
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def blocked_until(self, target: str, now: datetime) -> datetime | None:
        """When the target's circuit is open at ``now``: the moment it may be probed; None when a call may go."""
        with self._lock:
            state = self._states.get(target)
            if state is None or state.open_until is None or now >= state.open_until:
                return None
            return state.open_until

    def is_open(self, target: str) -> bool:
        """Whether the target's circuit is open or half-open (a probe is due or under way)."""
        with self._lock:
            state = self._states.get(target)
            return state is not None and state.open_until is not None

    def succeeded(self, target: str) -> bool:
        """Record a call that went through; True when it closed an open circuit."""
        with self._lock:
            state = self._states.get(target)
            if state is None:
                return False
            was_open = state.open_until is not None
            self._states[target] = _State()
            return was_open

    def failed(self, target: str, now: datetime, retry_after_seconds: float | None = None) -> datetime | None:
        """Record an outage failure (5xx, timeout, throttling); the moment the circuit opens until, when it is open.

        A failed probe opens the circuit again for twice the last cool-down (up to the configured maximum). A target
        that asked for a pause (a 429's Retry-After, a spent request limit) is taken at its word: the circuit opens at
        once and stays open at least that long, since every other row would be refused the same way.
        """
        settings = self._settings
        with self._lock:
            state = self._states.setdefault(target, _State())
            if state.open_until is not None:
                state.cool_down = min(state.cool_down * 2, settings.max_cool_down_seconds)
            else:
                state.failures += 1
                if state.failures < settings.failures and not retry_after_seconds:
                    return None
                state.cool_down = settings.cool_down_seconds
            wait = max(state.cool_down, retry_after_seconds or 0.0)
            state.open_until = now + timedelta(seconds=wait)
            return state.open_until

    def open_targets(self) -> dict[str, datetime]:
        """Targets whose circuit is open or half-open, with the moment each may next be probed."""
        with self._lock:
            return {name: s.open_until for name, s in self._states.items() if s.open_until is not None}
