"""A circuit breaker per outside CRM: stop calling one that is down, probe it after a cool-down, resume by itself.

Hand-written rather than ``pybreaker``/``circuitbreaker``: those wrap a call and read the wall clock, while here the
decision is taken before a row is sent (an open target's rows are put back without spending a try) and time must
come from the worker's clock, which the outage tests simulate. The state lives in the worker process: with several
workers each keeps its own, so a down target gets at most one probe per worker per cool-down. Each change of state
(open, half-open for the probe, closed) is handed to ``on_change`` as it happens, which the worker writes to the
database for the Health page (storage/ops/circuits.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fieldrelay.rules.crm import BreakerSettings

OPEN, HALF_OPEN, CLOSED = "open", "half_open", "closed"


@dataclass(frozen=True)
class Transition:
    """A circuit changing state: ``open`` (with the moment the probe may go), ``half_open`` (the probe is let
    through) or ``closed`` (a call went through: after an outage, or the first this worker made to the target)."""

    target: str
    state: str
    at: datetime
    next_probe_at: datetime | None = None


@dataclass
class _State:
    failures: int = 0  # outage failures in a row while closed
    open_until: datetime | None = None  # set while open; the first call after it is the probe
    cool_down: float = 0.0  # seconds the circuit stays open after the last failure
    probing: bool = False  # half-open: the cool-down is over and the probe was let through


class CircuitBreakers:
    """The breakers of every target one worker delivers to."""

    def __init__(self, settings: BreakerSettings, on_change: Callable[[Transition], None] | None = None) -> None:
        self._settings = settings
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()
        self._on_change = on_change

    def _announce(self, transition: Transition | None) -> None:
        """Hand a change of state on, outside the lock (the receiver writes to the database)."""
        if transition is not None and self._on_change is not None:
            self._on_change(transition)

    def blocked_until(self, target: str, now: datetime) -> datetime | None:
        """When the target's circuit is open at ``now``: the moment it may be probed; None when a call may go."""
        change = None
        with self._lock:
            state = self._states.get(target)
            if state is not None and state.open_until is not None:
                if now < state.open_until:
                    return state.open_until
                if not state.probing:
                    state.probing = True
                    change = Transition(target, HALF_OPEN, now)
        self._announce(change)
        return None

    def is_open(self, target: str) -> bool:
        """Whether the target's circuit is open or half-open (a probe is due or under way)."""
        with self._lock:
            state = self._states.get(target)
            return state is not None and state.open_until is not None

    def succeeded(self, target: str, now: datetime) -> bool:
        """Record a call that went through; True when it closed an open circuit."""
        with self._lock:
            state = self._states.get(target)
            was_open = state is not None and state.open_until is not None
            self._states[target] = _State()
        # The first call a worker sees through is announced too: the state recorded may be another worker's outage.
        self._announce(Transition(target, CLOSED, now) if was_open or state is None else None)
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
            state.open_until = open_until = now + timedelta(seconds=wait)
            state.probing = False
        self._announce(Transition(target, OPEN, now, open_until))
        return open_until

    def open_targets(self) -> dict[str, datetime]:
        """Targets whose circuit is open or half-open, with the moment each may next be probed."""
        with self._lock:
            return {name: s.open_until for name, s in self._states.items() if s.open_until is not None}
