"""The worker's share of the Health page: a sample of the backlog once a minute (with the week's pruning), and each
change of its circuit breakers' state, both written to the database where any process can read them."""

from __future__ import annotations

import structlog
from sqlalchemy import Engine

from fieldrelay.engine.breaker import Transition
from fieldrelay.engine.log_throttle import OUTAGES
from fieldrelay.service.clock import Clock
from fieldrelay.storage.ops import circuits, samples
from fieldrelay.storage.ops.health import backlog, minute_of

log = structlog.get_logger("fieldrelay.worker")


class HealthRecorder:
    """Samples one account's backlog at most once a minute and records one worker's breaker changes."""

    def __init__(self, engine: Engine, clock: Clock, account_id: str, worker_id: str) -> None:
        self._engine = engine
        self._clock = clock
        self._account = account_id
        self._worker_id = worker_id
        self._sampled_minute: int | None = None

    def sample(self) -> bool:
        """Keep this minute's backlog unless this worker or another already did; True when this call wrote it.

        Cheap when it does: grouped reads of the waiting rows (few, and found by account and status) and a few
        inserts; the minute already sampled by this worker costs nothing at all.
        """
        now = self._clock.now()
        minute = minute_of(now)
        if minute == self._sampled_minute:
            return False
        self._sampled_minute = minute
        try:
            with self._engine.begin() as conn:
                return samples.record_minute(conn, self._account, now, backlog(conn, self._account, now))
        except Exception:  # a sample missed shows as a gap on the page; the worker's own work goes on
            held_back = OUTAGES.allow("health.sample_failed")
            if held_back is not None:
                log.exception("health.sample_failed", worker=self._worker_id, held_back=held_back)
            return False

    def circuit_changed(self, change: Transition) -> None:
        """Write a breaker's change of state (the breaker calls this as it happens)."""
        try:
            with self._engine.begin() as conn:
                circuits.record_change(
                    conn,
                    self._account,
                    change.target,
                    change.state,
                    change.at,
                    change.next_probe_at,
                    self._worker_id,
                )
        except Exception:  # the delivery that changed the state must not fail for want of the record
            held_back = OUTAGES.allow("health.circuit_record_failed")
            if held_back is not None:
                log.exception("health.circuit_record_failed", target=change.target, held_back=held_back)
