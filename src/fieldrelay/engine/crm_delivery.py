"""Delivering one claimed ``crm.sync`` row to its outside CRM, behind that target's circuit breaker.

The row says what changed and when; the contact, fields and deal it writes are read from the customer's record as it
stands at this try (service/crm/sync.py ``current``), so a row refused yesterday and retried today after newer changes
landed writes today's state, never yesterday's.

An outage must never cost a write: while a target's circuit is open its rows wait (their try handed back) until the
probe, and a failure that opens or re-opens the circuit does not count against the row's retry policy either. Only a
refusal of the record itself (a 400, Salesforce's 300 multiple matches) or failures while the target otherwise
answers spend tries, so the rows that end dead in the error queue are the ones a person has to look at.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Engine

from fieldrelay.engine import metrics
from fieldrelay.engine.attempts import record_attempt
from fieldrelay.engine.breaker import CircuitBreakers
from fieldrelay.engine.claim import Claimed, LeaseLost, finish, renew
from fieldrelay.rules.config import Settings
from fieldrelay.service.clock import Clock
from fieldrelay.service.crm import sync
from fieldrelay.service.crm.targets import (
    CrmChange,
    CrmTarget,
    CrmWriteFailed,
    CrmWriteResult,
    QueuedChange,
    from_payload,
)
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import outbox

log = structlog.get_logger("fieldrelay.worker")


class CrmDelivery:
    """Writes claimed ``crm.sync`` rows to the targets one worker was built with."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        settings: Settings,
        worker_id: str,
        lease: timedelta,
        retry_or_dead: Callable[[int], dict[str, Any]],
        targets: Mapping[str, CrmTarget],
        breakers: CircuitBreakers,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self._settings = settings
        self.worker_id = worker_id
        self._lease = lease
        self._retry_or_dead = retry_or_dead
        self._targets = targets
        self._breakers = breakers

    def deliver(self, item: Claimed) -> None:
        """Write one change unless its target's circuit is open; record the attempt and the row's outcome."""
        row = item.row
        attempt = row.attempts + 1
        started = self.clock.now()
        t0 = time.perf_counter()
        target = self._targets.get(row.target)
        if target is None:
            detail = f"{row.target} is not a configured CRM target (crm.targets in fieldrelay.yaml); retry once it is"
            self._failed(row, attempt, started, t0, CrmWriteFailed(detail, retryable=False))
            return
        try:
            queued = from_payload(row.payload)
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"unreadable CRM change ({type(exc).__name__}: {exc})"
            self._failed(row, attempt, started, t0, CrmWriteFailed(detail, retryable=False))
            return
        blocked_until = self._breakers.blocked_until(row.target, started)
        if blocked_until is not None:
            self._hold(row, blocked_until, f"{row.target} circuit open until {blocked_until.isoformat()}")
            return
        try:
            change = self._current(row, queued)
        except LookupError as exc:
            self._failed(row, attempt, started, t0, CrmWriteFailed(f"nothing to send: {exc}", retryable=False))
            return
        if not renew(self.engine, outbox, row.id, self.worker_id, self.clock.now(), self._lease, "sending"):
            log.warning("outbox.lease_lost_before_send", outbox_id=row.id)
            return
        try:
            result = target.write(change)
        except CrmWriteFailed as exc:
            self._failed(row, attempt, started, t0, exc)
            return
        except Exception as exc:  # a connector bug must not kill the worker; the row keeps its retries
            self._failed(row, attempt, started, t0, CrmWriteFailed(f"{type(exc).__name__}: {exc}"))
            return
        self._sent(row, attempt, started, t0, result)

    def _current(self, row: Any, queued: QueuedChange) -> CrmChange:
        """The row's change with the customer's current state; a row a merge moved goes with its new customer."""
        if row.customer_id and row.customer_id != queued.customer_id:
            queued = replace(queued, customer_id=row.customer_id)
        with self.engine.connect() as conn:
            store = SqlMirror(conn, row.account_id, self.clock.now())
            return sync.current(store, self._settings, row.target, queued)

    def _sent(self, row: Any, attempt: int, started: datetime, t0: float, result: CrmWriteResult) -> None:
        """Close the row as sent and let the target's circuit close."""
        if self._breakers.succeeded(row.target, self.clock.now()):
            log.info("crm.circuit_closed", target=row.target)
        metrics.CIRCUIT_OPEN.labels(row.target).set(0)
        try:
            with self.engine.begin() as conn:
                sent_at = self.clock.now()
                finish(
                    conn,
                    outbox,
                    row.id,
                    self.worker_id,
                    in_flight="sending",
                    status="sent",
                    sent_at=sent_at,
                    last_error=None,
                )
                record_attempt(conn, row, attempt, started, t0, "sent", None, result.detail)
        except LeaseLost:
            log.warning("outbox.lease_lost", outbox_id=row.id)
            return
        metrics.DELIVERIES.labels(row.target, "sent").inc()

    def _failed(self, row: Any, attempt: int, started: datetime, t0: float, exc: CrmWriteFailed) -> None:
        """Record the failed attempt; hold the row while the target is down, else retry or end it dead."""
        detail = str(exc)
        now = self.clock.now()
        open_until = self._breakers.failed(row.target, now, exc.retry_after_seconds) if exc.target_down else None
        if open_until is not None:
            # The target is down: the row waits for the probe and keeps its tries (attempts as before the claim).
            log.warning("crm.circuit_open", target=row.target, until=open_until.isoformat(), error=detail)
            metrics.CIRCUIT_OPEN.labels(row.target).set(1)
            outcome: dict[str, Any] = {"status": "pending", "next_attempt_at": open_until, "attempts": row.attempts}
            label = "held"
        else:
            outcome = self._retry_or_dead(attempt) if exc.retryable else {"status": "dead"}
            if outcome["status"] == "pending" and exc.retry_after_seconds:
                asked = now + timedelta(seconds=exc.retry_after_seconds)
                outcome["next_attempt_at"] = max(outcome["next_attempt_at"], asked)
            label = str(outcome["status"])
        log.warning("outbox.delivery_failed", outbox_id=row.id, target=row.target, attempt=attempt, error=detail)
        try:
            with self.engine.begin() as conn:
                finish(conn, outbox, row.id, self.worker_id, in_flight="sending", last_error=detail, **outcome)
                # A held try is recorded as such: it failed, but it was handed back and counts against nothing.
                outcome_name = "held" if label == "held" else "failed"
                record_attempt(conn, row, attempt, started, t0, outcome_name, exc.status_code, detail)
        except LeaseLost:
            log.warning("outbox.lease_lost", outbox_id=row.id)
            return
        metrics.DELIVERIES.labels(row.target, label).inc()

    def _hold(self, row: Any, until: datetime, reason: str) -> None:
        """Put the row back untried until the target may be probed; nothing was attempted, so no try is spent."""
        try:
            with self.engine.begin() as conn:
                finish(
                    conn,
                    outbox,
                    row.id,
                    self.worker_id,
                    in_flight="sending",
                    status="pending",
                    next_attempt_at=until,
                    attempts=row.attempts,
                    last_error=reason,
                )
        except LeaseLost:
            log.warning("outbox.lease_lost", outbox_id=row.id)
            return
        metrics.DELIVERIES.labels(row.target, "held").inc()
