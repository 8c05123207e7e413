"""The worker end to end with the real Housecall Pro connector: apply, follow up, retry, dead-letter, reconcile."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.sql.elements import ColumnElement

from fieldrelay.connectors.devmail.outbound import DevMailSender
from fieldrelay.connectors.devsms.outbound import DevSmsSender
from fieldrelay.domain import events as ev
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.intake import Intake, receive
from fieldrelay.engine.worker import Worker
from fieldrelay.runtime import Runtime
from fieldrelay.service import bus
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.ports import SendFailed, SendResult, SmsRequest
from fieldrelay.storage.ops import errors
from fieldrelay.storage.tables import (
    activities,
    customers,
    delivery_attempts,
    dev_sms_sent,
    inbox,
    jobs,
    messages,
    outbox,
    timers,
)
from tests.conftest import START
from tests.helpers import delivery, job_envelope, signed

BOOKED_AT = "2026-11-02T13:00:00Z"
DISPATCHED_AT = "2026-11-02T14:20:00Z"
COMPLETED_AT = "2026-11-02T14:50:00Z"
PAID_AT = "2026-11-02T15:00:00Z"  # == START
REVIEW_DELAY = timedelta(minutes=30)


# --- helpers -------------------------------------------------------------------------------------


def deliver(runtime: Runtime, envelope: dict[str, Any]) -> Intake:
    """Sign a Housecall Pro delivery, verify it as the webhook endpoint would, and store it in the inbox."""
    now = runtime.clock.now()
    raw, headers = signed(envelope, now)
    lowered = {k.lower(): v for k, v in headers.items()}
    connector = runtime.inbound["housecallpro"]
    assert connector.verify(delivery(lowered, raw), now) is None
    return receive(runtime.engine, connector, lowered, raw, now, runtime.settings.account_id)


def count(engine: Engine, table: Any, *where: ColumnElement[bool]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def all_rows(engine: Engine, table: Any, *where: ColumnElement[bool]) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table).where(*where).order_by(table.c.id)).all())


def snapshot(engine: Engine) -> dict[str, list[Any]]:
    """Every row the worker could have written, for "nothing changed" comparisons."""
    tables = (customers, jobs, activities, timers, messages, outbox, delivery_attempts, dev_sms_sent)
    return {t.name: all_rows(engine, t) for t in tables}


def deliver_paid_job(runtime: Runtime) -> None:
    assert deliver(runtime, job_envelope("job.created", BOOKED_AT)) is Intake.ACCEPTED
    assert deliver(runtime, job_envelope("job.completed", COMPLETED_AT)) is Intake.ACCEPTED
    assert deliver(runtime, job_envelope("job.paid", PAID_AT, balance=0)) is Intake.ACCEPTED


def deliver_paid_job_of(runtime: Runtime, n: int) -> None:
    """Customer ``n`` (job_n, cus_n, a phone and email of their own): booked, then paid."""
    for event, at, balance in (("job.created", BOOKED_AT, None), ("job.paid", PAID_AT, 0)):
        phone, email = f"(512) 555-10{n:02d}", f"customer{n}@example.com"
        envelope = job_envelope(event, at, f"job_{n}", f"cus_{n}", phone, email, balance=balance)
        deliver(runtime, envelope)


def drain(worker: Worker) -> None:
    assert worker.drain(timeout_seconds=30), "the worker did not drain within 30 s"


class Crash(BaseException):
    """Stands in for the process dying: not an Exception, so nothing in the worker catches it."""


class FakeSms:
    """An SMS provider that fails as scripted, records calls, and otherwise delegates to DevSms."""

    name = "fakesms"

    def __init__(
        self,
        runtime: Runtime,
        failures: list[BaseException] | None = None,
        crash_after_send: bool = False,
    ) -> None:
        self.inner = DevSmsSender(runtime.dev_sink, runtime.clock)
        self.failures = list(failures or [])
        self.crash_after_send = crash_after_send
        self.send_calls: list[SmsRequest] = []
        self.sent: list[SendResult] = []
        self.lookups: list[str] = []

    def send(self, request: SmsRequest) -> SendResult:
        self.send_calls.append(request)
        if self.failures:
            raise self.failures.pop(0)
        result = self.inner.send(request)
        self.sent.append(result)
        if self.crash_after_send:
            raise Crash("process killed right after the provider accepted the text")
        return result

    def lookup(self, request: SmsRequest, since: datetime) -> SendResult | None:
        self.lookups.append(request.idempotency_key)
        return self.inner.lookup(request, since)


def fake_worker(runtime: Runtime, sms: FakeSms, worker_id: str = "fake-worker") -> Worker:
    email = DevMailSender(runtime.dev_sink, runtime.clock)
    return Worker(
        runtime.engine, runtime.settings, runtime.clock, runtime.inbound, sms=sms, worker_id=worker_id, email=email
    )


@pytest.fixture
def sim_clock(runtime: Runtime) -> SimulatedClock:
    assert isinstance(runtime.clock, SimulatedClock)
    return runtime.clock


@pytest.fixture
def worker(runtime: Runtime) -> Iterator[Worker]:
    yield runtime.new_worker("test-worker")


def reach_review_request(runtime: Runtime, sim_clock: SimulatedClock, worker: Worker) -> None:
    """Deliver booked/completed/paid, apply them, and move the clock to when the review text is due."""
    deliver_paid_job(runtime)
    drain(worker)
    sim_clock.advance(REVIEW_DELAY.total_seconds())


# --- the happy path and exactly-once intake ------------------------------------------------------


def test_paid_job_gets_one_review_request_thirty_minutes_after_payment(
    runtime: Runtime, sim_clock: SimulatedClock, worker: Worker
) -> None:
    deliver_paid_job(runtime)
    drain(worker)

    engine = runtime.engine
    assert count(engine, inbox, inbox.c.status == "done") == 3
    (job,) = all_rows(engine, jobs)
    assert (job.status, job.paid_at, job.balance_cents) == ("paid", START, 0)
    (message,) = all_rows(engine, messages)
    assert (message.status, message.purpose, message.scheduled_for) == (
        "scheduled",
        "review_request",
        START + REVIEW_DELAY,
    )
    assert count(engine, dev_sms_sent) == 0, "sent before the delay"

    sim_clock.advance(REVIEW_DELAY.total_seconds())
    drain(worker)

    (text,) = all_rows(engine, dev_sms_sent)
    assert text.to_address == "+15125550142"
    assert "Pat" in text.body and "Rapid Rooter Plumbing" in text.body
    assert "https://g.page/r/rapid-rooter/review" in text.body
    (message,) = all_rows(engine, messages)
    assert message.status == "delivered"
    assert message.sent_at == START + REVIEW_DELAY
    assert message.provider_message_id == text.provider_message_id
    assert message.body == text.body
    (row,) = all_rows(engine, outbox)
    assert (row.status, row.idempotency_key, row.message_id) == ("sent", f"sms:{message.id}", message.id)
    assert [t.status for t in all_rows(engine, timers)] == ["done"]


def test_a_redelivered_webhook_changes_nothing(runtime: Runtime, sim_clock: SimulatedClock, worker: Worker) -> None:
    reach_review_request(runtime, sim_clock, worker)
    drain(worker)
    before = snapshot(runtime.engine)

    sim_clock.advance(60)
    assert deliver(runtime, job_envelope("job.paid", PAID_AT, balance=0)) is Intake.DUPLICATE
    assert deliver(runtime, job_envelope("job.created", BOOKED_AT)) is Intake.DUPLICATE
    drain(worker)

    assert snapshot(runtime.engine) == before
    assert count(runtime.engine, dev_sms_sent) == 1
    assert sorted(r.deliveries for r in all_rows(runtime.engine, inbox)) == [1, 2, 2]
    assert count(runtime.engine, inbox) == 3


def test_a_late_on_my_way_after_completed_is_logged_not_applied(runtime: Runtime, worker: Worker) -> None:
    deliver(runtime, job_envelope("job.created", BOOKED_AT))
    deliver(runtime, job_envelope("job.completed", COMPLETED_AT))
    drain(worker)
    deliver(runtime, job_envelope("job.on_my_way", DISPATCHED_AT))
    drain(worker)

    engine = runtime.engine
    (job,) = all_rows(engine, jobs)
    assert job.status == "completed"
    assert job.status_at.isoformat() == "2026-11-02T14:50:00+00:00"
    (late,) = all_rows(engine, activities, activities.c.kind == "job.dispatched")
    assert late.applied is False
    assert "not applied" in late.summary
    assert late.at.isoformat() == "2026-11-02T14:20:00+00:00"
    assert count(engine, inbox, inbox.c.status == "done") == 3


# --- failures: retry with backoff, dead letter, manual retry -------------------------------------


def test_a_failing_handler_is_retried_with_backoff_then_dead_then_retried_by_hand(
    runtime: Runtime, sim_clock: SimulatedClock, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bus.EVENT_HANDLERS[ev.JobBooked]
    calls: list[str] = []

    def half_done_then_boom(ctx: HandlerContext, event: ev.FieldEvent) -> None:
        real(ctx, event)  # writes the customer and the job, which the failure must roll back
        calls.append(event.occurred_at.isoformat())
        raise RuntimeError("handler blew up")

    monkeypatch.setitem(bus.EVENT_HANDLERS, ev.JobBooked, half_done_then_boom)
    deliver(runtime, job_envelope("job.created", BOOKED_AT))
    engine = runtime.engine
    policy = runtime.settings.retry
    assert policy.max_attempts == 3

    drain(worker)
    (row,) = all_rows(engine, inbox)
    assert (row.status, row.attempts, row.locked_by) == ("pending", 1, None)
    assert row.last_error == "RuntimeError: handler blew up"
    wait = row.next_attempt_at - sim_clock.now()
    assert timedelta(seconds=policy.base_seconds / 2) <= wait <= timedelta(seconds=policy.base_seconds)
    assert count(engine, jobs) == 0 and count(engine, customers) == 0, "the failed attempt was not rolled back"

    drain(worker)
    assert len(calls) == 1, "retried before its backoff ran out"

    sim_clock.advance(wait.total_seconds())
    drain(worker)
    (row,) = all_rows(engine, inbox)
    assert (row.status, row.attempts) == ("pending", 2)
    wait = row.next_attempt_at - sim_clock.now()
    assert timedelta(seconds=policy.base_seconds) <= wait <= timedelta(seconds=2 * policy.base_seconds)

    sim_clock.advance(wait.total_seconds())
    drain(worker)
    (row,) = all_rows(engine, inbox)
    assert (row.status, row.attempts) == ("dead", 3)
    assert len(calls) == 3

    sim_clock.advance(24 * 3600)
    drain(worker)
    assert len(calls) == 3, "a dead row was picked up again"
    with engine.connect() as conn:
        (item,) = errors.list_errors(conn, runtime.settings.account_id)
    assert (item.id, item.kind, item.source, item.attempts) == (f"inbox-{row.id}", "inbox", "housecallpro", 3)
    assert item.error == "RuntimeError: handler blew up"

    monkeypatch.setitem(bus.EVENT_HANDLERS, ev.JobBooked, real)
    with engine.begin() as conn:
        assert errors.retry(conn, runtime.settings.account_id, item.id, sim_clock.now())
    (row,) = all_rows(engine, inbox)
    assert (row.status, row.attempts) == ("pending", 0)

    drain(worker)
    (row,) = all_rows(engine, inbox)
    assert row.status == "done"
    assert [j.status for j in all_rows(engine, jobs)] == ["booked"]
    with engine.connect() as conn:
        assert errors.list_errors(conn, runtime.settings.account_id) == []


def test_retryable_send_failures_are_retried_and_the_text_goes_out_once(
    runtime: Runtime, sim_clock: SimulatedClock, worker: Worker
) -> None:
    reach_review_request(runtime, sim_clock, worker)
    sms = FakeSms(
        runtime,
        failures=[
            SendFailed("provider timed out", retryable=True),
            SendFailed("provider busy", retryable=True, status_code=503),
        ],
    )
    flaky = fake_worker(runtime, sms)
    engine = runtime.engine

    drain(flaky)
    (row,) = all_rows(engine, outbox)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "provider timed out")
    sim_clock.advance((row.next_attempt_at - sim_clock.now()).total_seconds())
    drain(flaky)
    (row,) = all_rows(engine, outbox)
    assert (row.status, row.attempts, row.last_error) == ("pending", 2, "provider busy")
    sim_clock.advance((row.next_attempt_at - sim_clock.now()).total_seconds())
    drain(flaky)

    assert len(sms.send_calls) == 3
    assert len(sms.sent) == 1
    assert count(engine, dev_sms_sent) == 1
    (row,) = all_rows(engine, outbox)
    assert (row.status, row.attempts) == ("sent", 3)
    (message,) = all_rows(engine, messages)
    assert message.status == "delivered"
    attempts = all_rows(engine, delivery_attempts)
    assert [(a.attempt, a.outcome, a.status_code) for a in attempts] == [
        (1, "failed", None),
        (2, "failed", 503),
        (3, "sent", None),
    ]
    assert all(a.outbox_id == row.id for a in attempts)


def test_a_non_retryable_send_failure_is_dead_at_once_and_in_the_error_queue(
    runtime: Runtime, sim_clock: SimulatedClock, worker: Worker
) -> None:
    reach_review_request(runtime, sim_clock, worker)
    sms = FakeSms(runtime, failures=[SendFailed("not a mobile number", retryable=False, status_code=400)])
    engine = runtime.engine

    drain(fake_worker(runtime, sms))

    (row,) = all_rows(engine, outbox)
    assert (row.status, row.attempts, row.last_error) == ("dead", 1, "not a mobile number")
    (message,) = all_rows(engine, messages)
    assert message.status == "failed"
    assert count(engine, dev_sms_sent) == 0
    assert [(a.outcome, a.status_code) for a in all_rows(engine, delivery_attempts)] == [("failed", 400)]
    with engine.connect() as conn:
        (item,) = errors.list_errors(conn, runtime.settings.account_id)
    assert (item.id, item.kind, item.source, item.error) == (f"outbox-{row.id}", "outbox", "sms", "not a mobile number")

    sim_clock.advance(3600)
    drain(fake_worker(runtime, sms))
    assert len(sms.send_calls) == 1, "a dead row was sent again without a person retrying it"

    with engine.begin() as conn:
        assert errors.retry(conn, runtime.settings.account_id, item.id, sim_clock.now())
    assert all_rows(engine, messages)[0].status == "queued"
    drain(fake_worker(runtime, sms))
    assert count(engine, dev_sms_sent) == 1
    assert all_rows(engine, messages)[0].status == "delivered"


# --- crash recovery of the outbox ----------------------------------------------------------------


def test_a_text_sent_before_a_crash_is_reconciled_not_resent(
    runtime: Runtime, sim_clock: SimulatedClock, worker: Worker
) -> None:
    reach_review_request(runtime, sim_clock, worker)
    engine = runtime.engine
    dying = fake_worker(runtime, FakeSms(runtime, crash_after_send=True), worker_id="dying-worker")

    with pytest.raises(Crash):
        dying.drain()

    (row,) = all_rows(engine, outbox)
    assert (row.status, row.locked_by) == ("sending", "dying-worker")
    (text,) = all_rows(engine, dev_sms_sent)

    sms = FakeSms(runtime)
    survivor = fake_worker(runtime, sms, worker_id="survivor")
    assert survivor.run_once() == 0, "a row under a live lease was taken over"

    sim_clock.advance(runtime.settings.worker.lease_seconds + 1)
    drain(survivor)

    assert sms.send_calls == [], "the text was sent again instead of reconciled"
    assert sms.lookups == [row.idempotency_key]
    assert count(engine, dev_sms_sent) == 1
    (row,) = all_rows(engine, outbox)
    assert (row.status, row.locked_by, row.sent_at) == ("sent", None, text.sent_at)
    (message,) = all_rows(engine, messages)
    assert (message.status, message.provider_message_id) == ("delivered", text.provider_message_id)
    (attempt,) = all_rows(engine, delivery_attempts)
    assert attempt.outcome == "sent"
    assert attempt.detail.startswith("reconciled")


def test_a_crash_before_the_provider_got_the_text_sends_it_once_on_recovery(
    runtime: Runtime, sim_clock: SimulatedClock, worker: Worker
) -> None:
    reach_review_request(runtime, sim_clock, worker)
    engine = runtime.engine
    dying = fake_worker(runtime, FakeSms(runtime, failures=[Crash("killed mid-call")]), worker_id="dying-worker")

    with pytest.raises(Crash):
        dying.drain()
    assert count(engine, dev_sms_sent) == 0
    assert all_rows(engine, outbox)[0].status == "sending"

    sim_clock.advance(runtime.settings.worker.lease_seconds + 1)
    sms = FakeSms(runtime)
    drain(fake_worker(runtime, sms, worker_id="survivor"))

    assert len(sms.lookups) == 1
    assert len(sms.sent) == 1
    assert count(engine, dev_sms_sent) == 1
    assert all_rows(engine, outbox)[0].status == "sent"
    assert all_rows(engine, messages)[0].status == "delivered"


class FailingLookupSms(FakeSms):
    """A provider whose message-list lookup fails once (e.g. its API is briefly down) before working."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.lookup_failures = [SendFailed("message list unavailable", retryable=True, status_code=503)]

    def lookup(self, request: SmsRequest, since: datetime) -> SendResult | None:
        self.lookups.append(request.idempotency_key)
        if self.lookup_failures:
            raise self.lookup_failures.pop(0)
        return self.inner.lookup(request, since)


def test_a_failed_reconciliation_lookup_still_never_resends_a_text(
    runtime: Runtime, sim_clock: SimulatedClock, worker: Worker
) -> None:
    reach_review_request(runtime, sim_clock, worker)
    engine = runtime.engine
    with pytest.raises(Crash):
        fake_worker(runtime, FakeSms(runtime, crash_after_send=True), worker_id="dying-worker").drain()
    assert count(engine, dev_sms_sent) == 1

    sim_clock.advance(runtime.settings.worker.lease_seconds + 1)
    sms = FailingLookupSms(runtime)
    survivor = fake_worker(runtime, sms, worker_id="survivor")
    drain(survivor)
    (row,) = all_rows(engine, outbox)
    assert row.status == "pending"  # the lookup failed: try again later
    sim_clock.advance((row.next_attempt_at - sim_clock.now()).total_seconds())
    drain(survivor)

    assert all_rows(engine, outbox)[0].status == "sent"
    assert count(engine, dev_sms_sent) == 1, "the text was sent a second time"
    assert sms.send_calls == []


def test_a_send_with_an_unknown_outcome_is_reconciled_before_any_resend(
    runtime: Runtime, sim_clock: SimulatedClock, worker: Worker
) -> None:
    class TimesOutAfterSending(FakeSms):
        def send(self, request: SmsRequest) -> SendResult:
            result = super().send(request)
            if len(self.sent) == 1:
                raise TimeoutError("read timed out waiting for the provider's answer")
            return result

    reach_review_request(runtime, sim_clock, worker)
    engine = runtime.engine
    sms = TimesOutAfterSending(runtime)
    flaky = fake_worker(runtime, sms)
    drain(flaky)
    (row,) = all_rows(engine, outbox)
    assert row.status == "pending"
    sim_clock.advance((row.next_attempt_at - sim_clock.now()).total_seconds())
    drain(flaky)

    assert all_rows(engine, outbox)[0].status == "sent"
    assert count(engine, dev_sms_sent) == 1, "the text was sent a second time"


def test_a_slow_batch_does_not_send_a_text_another_worker_took_over(
    runtime: Runtime, sim_clock: SimulatedClock, worker: Worker
) -> None:
    for n in (1, 2):
        deliver_paid_job_of(runtime, n)
    drain(worker)
    sim_clock.advance(REVIEW_DELAY.total_seconds())
    assert worker.fire_timers() == 2
    assert count(runtime.engine, outbox, outbox.c.status == "pending") == 2, "both texts should share one batch"

    other = runtime.new_worker("other-worker")

    class SlowSms(FakeSms):
        """The provider takes longer than the lease on the first text; meanwhile another worker runs."""

        def send(self, request: SmsRequest) -> SendResult:
            result = super().send(request)
            if len(self.sent) == 1:
                sim_clock.advance(runtime.settings.worker.lease_seconds + 1)
                other.run_once()
            return result

    drain(fake_worker(runtime, SlowSms(runtime), worker_id="slow-worker"))
    drain(other)

    texts = all_rows(runtime.engine, dev_sms_sent)
    assert len({t.idempotency_key for t in texts}) == 2
    assert len(texts) == 2, "a text was sent twice"


def test_due_timers_fire_together_and_a_failing_one_alone_goes_to_the_error_queue(
    runtime: Runtime, sim_clock: SimulatedClock, worker: Worker
) -> None:
    """Timers are fired in one transaction per group; when one handler fails, the rest still fire, each on its own.
    A payload the handler cannot read fails the same way on every try, so it is dead at once (engine/failures.py)."""
    for n in (1, 2, 3):
        deliver_paid_job_of(runtime, n)
    drain(worker)
    broken = min(row.id for row in all_rows(runtime.engine, timers))
    with runtime.engine.begin() as conn:
        conn.execute(timers.update().where(timers.c.id == broken).values(payload={"job_id": "gone"}))
    sim_clock.advance(REVIEW_DELAY.total_seconds())

    assert worker.fire_timers() == 3
    fired = {row.id: row for row in all_rows(runtime.engine, timers)}
    assert sorted(row.status for row in fired.values()) == ["dead", "done", "done"]
    assert fired[broken].status == "dead"
    assert "KeyError" in fired[broken].last_error
    assert count(runtime.engine, outbox, outbox.c.status == "pending") == 2
