"""The worker: applies inbox rows, fires due timers and delivers the outbox, each row in its own transaction."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import Engine, Table, and_, func, or_, select

from fieldrelay.engine import metrics
from fieldrelay.engine.backoff import retry_delay
from fieldrelay.engine.breaker import CircuitBreakers
from fieldrelay.engine.claim import Claimed, LeaseLost, claim, finish, outbox_in_order
from fieldrelay.engine.crm_delivery import CrmDelivery
from fieldrelay.engine.delivery import OutboxDelivery
from fieldrelay.engine.failures import describe, is_data_error
from fieldrelay.engine.health import HealthRecorder
from fieldrelay.engine.kpi_facts import FactsKeeper
from fieldrelay.engine.log_throttle import OUTAGES
from fieldrelay.engine.wake import listener_for
from fieldrelay.rules.config import Settings
from fieldrelay.service import bus
from fieldrelay.service.clock import Clock
from fieldrelay.service.context import ConcurrentChange, HandlerContext, Unattachable
from fieldrelay.service.crm.targets import CRM_SYNC, CrmTarget
from fieldrelay.service.ports import (
    EmailSender,
    InboundConnector,
    Parsed,
    ParseError,
    Received,
    SmsSender,
    TemporaryFailure,
)
from fieldrelay.storage.mirror import SqlMirror, write_activities
from fieldrelay.storage.tables import inbox, outbox, timers

log = structlog.get_logger("fieldrelay.worker")

_MAX_YIELD_SECONDS = 0.1
_YIELD_SECONDS = 0.002  # long enough for a waiting thread or process to wake and take the lock


class Wake(Protocol):
    """How intake wakes an idle worker: ``threading.Event`` or ``multiprocessing.Event``."""

    def set(self) -> None: ...

    def clear(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class _WriteBudget:
    """When a transaction applying rows one after another should commit: once its next row, expected to take as
    long as the last one, would hold the write lock past ``seconds`` (so intake waits about that long at most)."""

    def __init__(self, seconds: float) -> None:
        self._last = time.monotonic()
        self._deadline = self._last + seconds

    def spent(self) -> bool:
        """Call after each row; True when the transaction should commit now."""
        now = time.monotonic()
        took, self._last = now - self._last, now
        return now + took >= self._deadline


def _report_failure(event: str, **fields: Any) -> None:
    """A traceback for a failure that will be retried, at most one per kind per interval (see log_throttle)."""
    held_back = OUTAGES.allow(event)
    if held_back is not None:
        log.exception(event, held_back=held_back, **fields)


def new_worker_id() -> str:
    """A name unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{random.randrange(16**6):06x}"


class Worker:
    """One worker; any number may run against the same database."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        inbound: Mapping[str, InboundConnector],
        sms: SmsSender,
        worker_id: str | None = None,
        *,
        email: EmailSender,
        crm: Mapping[str, CrmTarget] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.inbound = inbound
        self.sms = sms
        self.email = email
        self.worker_id = worker_id or new_worker_id()
        # Outside CRMs by outbox target name; their circuit breakers outlive a pass, so an outage is remembered.
        self.crm: Mapping[str, CrmTarget] = crm or {}
        # What the Health page reads of this worker: a backlog sample a minute, its breakers' changes of state.
        self.health = HealthRecorder(engine, clock, settings.account_id, self.worker_id)
        self.breakers = CircuitBreakers(settings.crm.breaker, self.health.circuit_changed)
        # What the Reports page reads: the KPI facts of the customers whose rows changed, remade a batch at a time.
        self.kpi_facts = FactsKeeper(engine, clock, settings.account_id)
        self._lease = timedelta(seconds=settings.worker.lease_seconds)
        self._batch = settings.worker.batch_size
        self._shares_write_lock = engine.dialect.name == "sqlite"
        # Only SQLite has one write lock that intake waits for; on PostgreSQL a group commits whole (fewer commits).
        self._budget = settings.worker.write_budget_ms / 1000 if self._shares_write_lock else float("inf")
        self._account = settings.account_id
        # Set by intake when it stores new deliveries, so an idle worker starts at once instead of at its next poll
        # (a multiprocessing event when `serve` runs its worker in a process of its own).
        self.wake: Wake = threading.Event()
        # In `serve`, True while the API is storing deliveries: the worker then leaves it the write lock between
        # transactions and, when it shares the API's interpreter, half of the process.
        self.intake_busy: Callable[[], bool] | None = None
        self.shares_interpreter = True

    # --- loop ------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """One pass over inbox, timers and outbox; returns how many rows were handled."""
        return self.process_inbox() + self.fire_timers() + self.deliver_outbox()

    def run_forever(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, sleeping only when there was nothing to do."""
        log.info("worker.started", worker=self.worker_id)
        # PostgreSQL: a commit of new inbox rows in any process wakes this worker (LISTEN); SQLite polls.
        listener = listener_for(self.engine, lambda: self.wake.set(), stop)
        if listener is not None:
            listener.start()
        while not stop.is_set():
            spent_before = self._spent()
            self.health.sample()
            self.kpi_facts.refresh()
            try:
                handled = self.run_once()
            except Exception:  # a database outage must not kill the worker; try again shortly
                held_back = OUTAGES.allow("worker.pass_failed")
                if held_back is not None:
                    log.exception("worker.pass_failed", worker=self.worker_id, held_back=held_back)
                handled = 0
            if handled == 0:
                self.wake.wait(self.settings.worker.poll_interval_seconds)
                self.wake.clear()
            elif self.shares_interpreter and self.intake_busy is not None and self.intake_busy():
                # Acknowledging webhooks comes first (a vendor that waits too long redelivers, adding load): while
                # deliveries arrive, rest as long as the pass held what the API needs too (see _spent).
                stop.wait(min(self._spent() - spent_before, _MAX_YIELD_SECONDS))
        if listener is not None:
            listener.join(timeout=5)
        log.info("worker.stopped", worker=self.worker_id)

    def _spent(self) -> float:
        """A clock of what a pass takes from the API: wall time on SQLite, where the pass holds the one write lock
        intake needs too; this thread's CPU time elsewhere, where waiting on the server takes nothing from it."""
        return time.monotonic() if self._shares_write_lock else time.thread_time()

    def drain(self, timeout_seconds: float = 60.0) -> bool:
        """Run until nothing is due (work held by other workers included); False if that took too long."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.run_once() == 0:
                if self.backlog() == 0:
                    return True
                time.sleep(0.005)
        return False

    def next_due(self, until: datetime) -> datetime | None:
        """The earliest moment after now and no later than ``until`` at which pending work falls due."""
        now = self.clock.now()
        with self.engine.connect() as conn:
            moments = [
                conn.execute(
                    select(func.min(t.c.next_attempt_at)).where(
                        t.c.status == "pending", t.c.next_attempt_at > now, t.c.next_attempt_at <= until
                    )
                ).scalar()
                for t in (inbox, timers, outbox)
            ]
        found = [m for m in moments if m is not None]
        return min(found) if found else None

    def backlog(self) -> int:
        """Rows due now or in flight: what ``drain`` waits for."""
        now = self.clock.now()
        total = 0
        with self.engine.connect() as conn:
            for table, in_flight, extra in (
                (inbox, "processing", None),
                (timers, "processing", None),
                (outbox, "sending", outbox_in_order(outbox)),
            ):
                c = table.c
                due = or_(and_(c.status == "pending", c.next_attempt_at <= now), c.status == in_flight)
                where = and_(due, extra) if extra is not None else due
                total += conn.execute(select(func.count()).select_from(table).where(where)).scalar_one()
        return total

    def _claim(self, table: Table, in_flight: str = "processing", extra: Any = None) -> list[Claimed]:
        return claim(
            self.engine,
            table,
            worker_id=self.worker_id,
            now=self.clock.now(),
            lease=self._lease,
            limit=self._batch,
            in_flight=in_flight,
            extra=extra,
        )

    def _retry_or_dead(self, attempts: int) -> dict[str, Any]:
        """Columns for a failed try: back to pending after a backoff, or dead once the policy is spent."""
        delay = retry_delay(attempts, self.settings.retry)
        if delay is None:
            return {"status": "dead"}
        return {"status": "pending", "next_attempt_at": self.clock.now() + delay}

    # --- inbox -----------------------------------------------------------------------------------

    def process_inbox(self) -> int:
        """Apply claimed inbox rows to the mirror: several in one transaction, one by one if any of them fails."""
        claimed = self._claim(inbox)
        outcomes = [(item.row, self._parse(item.row)) for item in claimed]
        ready = [(row, p) for row, p in outcomes if isinstance(p, Parsed) and p.events]
        group = self.settings.worker.apply_group_size
        start = 0
        while start < len(ready):
            chunk = ready[start : start + group]
            applied, tried = self._apply_together(chunk) if len(chunk) > 1 else (0, 1)
            if not applied:  # rolled back: apply the rows that transaction held one by one, so only a bad one fails
                for row, parsed in chunk[:tried]:
                    self._apply(row, parsed)
            start += applied or tried
            self._yield_to_intake()
        for row, outcome in outcomes:
            if not (isinstance(outcome, Parsed) and outcome.events):
                self._apply(row, outcome)
        return len(claimed)

    def _parse(self, row: Any) -> Parsed | Exception:
        """The row's canonical events, or what stopped them (handled in ``_apply``); parsed once per claim."""
        connector = self.inbound.get(row.connector)
        if connector is None:
            return ParseError(f"no connector named {row.connector!r} is registered")
        try:
            return connector.parse(row.body, Received(at=row.received_at, headers=row.headers or {}))
        except Exception as exc:
            return exc

    def _apply_together(self, chunk: list[tuple[Any, Parsed]]) -> tuple[int, int]:
        """Apply rows from the start of ``chunk`` in one transaction, one commit and one lock hand-over for the lot,
        until the write budget is spent; (rows committed, rows tried): (0, n) when the first n were rolled back."""
        now = self.clock.now()
        tried = 0
        held: list[dict[str, object]] = []  # the group's timeline rows, written in one statement before the commit
        try:
            with self.engine.begin() as conn:
                budget = _WriteBudget(self._budget)  # counted from when the transaction holds the write lock
                for row, parsed in chunk:
                    tried += 1
                    store = SqlMirror(conn, row.account_id, now, inbox_id=row.id)
                    store.hold_activities(held)
                    ctx = HandlerContext(store=store, now=now, settings=self.settings)
                    for event in parsed.events:
                        bus.apply(ctx, event)
                    finish(conn, inbox, row.id, self.worker_id, status="done", processed_at=now, last_error=None)
                    if budget.spent():
                        break
                write_activities(conn, held)
        except Exception as exc:
            # Nothing of the group was written; each row is applied again on its own so only a bad one fails.
            log.info("inbox.group_rolled_back", rows=tried, reason=describe(exc))
            return 0, tried
        for row, _ in chunk[:tried]:
            metrics.EVENTS.labels(row.connector, "applied").inc()
        return tried, tried

    def _yield_to_intake(self) -> None:
        """Between two transactions, let waiting webhook intake take the write lock first (a lock is not fair: a
        thread that releases it and asks again at once usually gets it back)."""
        if self._shares_write_lock and self.intake_busy is not None and self.intake_busy():
            time.sleep(_YIELD_SECONDS)

    def _apply(self, row: Any, parse_result: Parsed | Exception) -> None:
        now = self.clock.now()
        try:
            if isinstance(parse_result, Exception):
                raise parse_result
            parsed = parse_result
            if not parsed.events:
                log.info("inbox.ignored", inbox_id=row.id, event_type=parsed.event_type, reason=parsed.ignored)
                self._close(inbox, row, status="ignored", event_type=parsed.event_type, last_error=parsed.ignored)
                metrics.EVENTS.labels(row.connector, "ignored").inc()
                return
            with self.engine.begin() as conn:
                held: list[dict[str, object]] = []
                store = SqlMirror(conn, row.account_id, now, inbox_id=row.id)
                store.hold_activities(held)
                ctx = HandlerContext(store=store, now=now, settings=self.settings)
                for event in parsed.events:
                    bus.apply(ctx, event)
                write_activities(conn, held)
                finish(conn, inbox, row.id, self.worker_id, status="done", processed_at=now, last_error=None)
            metrics.EVENTS.labels(row.connector, "applied").inc()
        except (ParseError, Unattachable) as exc:
            log.warning("inbox.needs_person", inbox_id=row.id, error=str(exc))
            self._close(inbox, row, status="error", last_error=str(exc))
            metrics.EVENTS.labels(row.connector, "error").inc()
        except LeaseLost:
            log.warning("inbox.lease_lost", inbox_id=row.id, worker=self.worker_id)
        except TemporaryFailure as exc:
            # A vendor API the parse needed is throttled or down: try later, no sooner than it asked.
            log.warning("inbox.temporary_failure", inbox_id=row.id, error=str(exc))
            outcome = self._retry_or_dead(row.attempts + 1)
            if outcome["status"] == "pending" and exc.retry_after_seconds is not None:
                earliest = now + timedelta(seconds=exc.retry_after_seconds)
                outcome["next_attempt_at"] = max(outcome["next_attempt_at"], earliest)
            self._close(inbox, row, last_error=f"temporary: {exc}", **outcome)
            metrics.EVENTS.labels(row.connector, str(outcome["status"])).inc()
        except ConcurrentChange as exc:
            # Not a failure: the transaction was rolled back; apply again now, on top of the other worker's record.
            log.info("inbox.concurrent_change", inbox_id=row.id, detail=str(exc))
            self._close(inbox, row, status="pending", next_attempt_at=now, attempts=row.attempts)
        except Exception as exc:
            if is_data_error(exc):  # the same body fails the same way every time: to a person at once
                log.warning("inbox.data_error", inbox_id=row.id, error=describe(exc))
                self._close(inbox, row, status="error", last_error=describe(exc))
                metrics.EVENTS.labels(row.connector, "error").inc()
                return
            _report_failure("inbox.apply_failed", inbox_id=row.id)
            outcome = self._retry_or_dead(row.attempts + 1)
            self._close(inbox, row, last_error=describe(exc), **outcome)
            metrics.EVENTS.labels(row.connector, str(outcome["status"])).inc()

    def _close(self, table: Table, row: Any, in_flight: str = "processing", **values: Any) -> None:
        """Record an outcome in a transaction of its own (the work's own transaction was rolled back)."""
        try:
            with self.engine.begin() as conn:
                finish(conn, table, row.id, self.worker_id, in_flight=in_flight, **values)
        except LeaseLost:
            log.warning("worker.lease_lost", table=table.name, row_id=row.id, worker=self.worker_id)

    # --- timers ----------------------------------------------------------------------------------

    def fire_timers(self) -> int:
        """Run the handlers of due timers (they re-check their conditions against the mirror): several in one
        transaction, one by one if any of them fails, as the inbox is applied."""
        claimed = self._claim(timers)
        group = self.settings.worker.apply_group_size
        start = 0
        while start < len(claimed):
            chunk = [item.row for item in claimed[start : start + group]]
            fired, tried = self._fire_together(chunk) if len(chunk) > 1 else (0, 1)
            if not fired:
                for row in chunk[:tried]:
                    self._fire(row)
            start += fired or tried
            self._yield_to_intake()
        return len(claimed)

    def _fire_together(self, rows: list[Any]) -> tuple[int, int]:
        """Fire timers from the start of ``rows`` in one transaction (their handlers write only the mirror and
        outbox) until the write budget is spent; (timers committed, timers tried) as ``_apply_together``."""
        now = self.clock.now()
        tried = 0
        held: list[dict[str, object]] = []  # as in _apply_together
        try:
            with self.engine.begin() as conn:
                budget = _WriteBudget(self._budget)
                for row in rows:
                    tried += 1
                    store = SqlMirror(conn, row.account_id, now)
                    store.hold_activities(held)
                    bus.fire(HandlerContext(store=store, now=now, settings=self.settings), row.kind, row.payload)
                    finish(conn, timers, row.id, self.worker_id, status="done", fired_at=now, last_error=None)
                    if budget.spent():
                        break
                write_activities(conn, held)
        except Exception as exc:
            # Nothing of the group was written; each timer fires again on its own so only a bad one fails.
            log.info("timer.group_rolled_back", timers=tried, reason=describe(exc))
            return 0, tried
        for row in rows[:tried]:
            metrics.TIMERS.labels(row.kind, "done").inc()
        return tried, tried

    def _fire(self, row: Any) -> None:
        now = self.clock.now()
        try:
            with self.engine.begin() as conn:
                ctx = HandlerContext(store=SqlMirror(conn, row.account_id, now), now=now, settings=self.settings)
                bus.fire(ctx, row.kind, row.payload)
                finish(conn, timers, row.id, self.worker_id, status="done", fired_at=now, last_error=None)
            metrics.TIMERS.labels(row.kind, "done").inc()
        except LeaseLost:
            log.warning("timer.lease_lost", timer_id=row.id)
        except Exception as exc:
            if is_data_error(exc):
                log.warning("timer.data_error", timer_id=row.id, kind=row.kind, error=describe(exc))
                self._close(timers, row, status="dead", last_error=describe(exc))  # a timer's error queue state
                metrics.TIMERS.labels(row.kind, "dead").inc()
                return
            _report_failure("timer.failed", timer_id=row.id, kind=row.kind)
            outcome = self._retry_or_dead(row.attempts + 1)
            self._close(timers, row, last_error=describe(exc), **outcome)
            metrics.TIMERS.labels(row.kind, str(outcome["status"])).inc()

    # --- outbox ----------------------------------------------------------------------------------

    def deliver_outbox(self) -> int:
        """Deliver claimed outbox rows, one customer's rows strictly in order."""
        claimed = self._claim(outbox, in_flight="sending", extra=outbox_in_order(outbox))
        deliverer = OutboxDelivery(
            self.engine,
            self.clock,
            self.settings,
            self.sms,
            self.email,
            self.worker_id,
            self._lease,
            self._retry_or_dead,
        )
        crm = CrmDelivery(
            self.engine,
            self.clock,
            self.settings,
            self.worker_id,
            self._lease,
            self._retry_or_dead,
            self.crm,
            self.breakers,
        )
        for item in claimed:
            if item.row.kind == CRM_SYNC:
                crm.deliver(item)
            else:
                deliverer.deliver(item)
        return len(claimed)
