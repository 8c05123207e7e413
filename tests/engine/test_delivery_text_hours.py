"""Text hours at send time: a text that reaches the worker outside the customer's day waits for the morning."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.service.ports import SendFailed
from fieldrelay.service.records import FieldWrite
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import messages, outbox
from tests.conftest import START
from tests.engine.test_delivery_email import EMAIL, PHONE, FakeEmail, MailProvider, add_customer, queue, worker_with
from tests.engine.test_worker import FakeSms, all_rows, drain

# START is Monday 09:00 in Chicago (the shop's zone); 21:00 there is START + 12 h, Tuesday 08:00 is START + 23 h.
NINE_PM = START + timedelta(hours=12)
NEXT_MORNING = START + timedelta(hours=23)


@pytest.fixture
def sim_clock(runtime: Runtime) -> SimulatedClock:
    assert isinstance(runtime.clock, SimulatedClock)
    return runtime.clock


def text(to: str = PHONE) -> dict[str, str]:
    return {"to": to, "body": "Your technician is on the way", "category": "transactional"}


def in_zone(runtime: Runtime, customer_id: str, zone: str) -> None:
    """Record the customer's time zone as enrichment does."""
    with runtime.engine.begin() as conn:
        store = SqlMirror(conn, runtime.settings.account_id, runtime.clock.now())
        store.write_fields(customer_id, {"time_zone": FieldWrite(zone, "enrichment:zip", runtime.clock.now())})


def test_a_text_reaching_the_worker_after_9_pm_waits_for_8_am_without_spending_a_try(
    runtime: Runtime, sim_clock: SimulatedClock
) -> None:
    customer_id = add_customer(runtime)
    sim_clock.advance_to(NINE_PM + timedelta(minutes=30))
    message_id = queue(runtime, customer_id, "sms", text())
    sms = FakeSms(runtime)
    worker = worker_with(runtime, FakeEmail(MailProvider(runtime.clock)), sms)

    drain(worker)

    assert sms.send_calls == []
    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, NEXT_MORNING)
    (message,) = all_rows(runtime.engine, messages)
    assert (message.id, message.status, message.scheduled_for) == (message_id, "queued", NEXT_MORNING)

    sim_clock.advance_to(NEXT_MORNING)
    drain(worker)

    assert [r.to for r in sms.send_calls] == [PHONE]
    assert sms.lookups == [], "a deferral is not a try whose outcome was lost: nothing to reconcile"
    assert all_rows(runtime.engine, outbox)[0].status == "sent"


def test_a_retry_whose_backoff_crosses_9_pm_waits_for_the_morning(runtime: Runtime, sim_clock: SimulatedClock) -> None:
    customer_id = add_customer(runtime)
    sim_clock.advance_to(NINE_PM - timedelta(seconds=10))
    queue(runtime, customer_id, "sms", text())
    sms = FakeSms(runtime, failures=[SendFailed("503 from the provider", retryable=True, status_code=503)])
    worker = worker_with(runtime, FakeEmail(MailProvider(runtime.clock)), sms)

    drain(worker)  # the first try fails at 20:59:50
    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.attempts) == ("pending", 1)
    sim_clock.advance_to(row.next_attempt_at)
    drain(worker)  # the retry falls after 21:00

    assert len(sms.send_calls) == 1
    (row,) = all_rows(runtime.engine, outbox)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, NEXT_MORNING)

    sim_clock.advance_to(NEXT_MORNING)
    drain(worker)

    # The failed try's outcome is checked before anything else, at 21:00 and again before the morning's send.
    assert len(sms.lookups) == 2
    assert len(sms.send_calls) == 2
    assert all_rows(runtime.engine, outbox)[0].status == "sent"


def test_the_customers_own_time_zone_decides(runtime: Runtime, sim_clock: SimulatedClock) -> None:
    """21:30 in Chicago is 19:30 in Los Angeles: a Californian's text goes out."""
    customer_id = add_customer(runtime)
    in_zone(runtime, customer_id, "America/Los_Angeles")
    sim_clock.advance_to(NINE_PM + timedelta(minutes=30))
    queue(runtime, customer_id, "sms", text())
    sms = FakeSms(runtime)

    drain(worker_with(runtime, FakeEmail(MailProvider(runtime.clock)), sms))

    assert [r.to for r in sms.send_calls] == [PHONE]


def test_email_is_not_held_at_night(runtime: Runtime, sim_clock: SimulatedClock) -> None:
    customer_id = add_customer(runtime)
    sim_clock.advance_to(NINE_PM + timedelta(hours=2))
    queue(runtime, customer_id, "email", {"to": EMAIL, "subject": "Your invoice", "body": "Paid, thank you."})
    email = FakeEmail(MailProvider(runtime.clock))

    drain(worker_with(runtime, email))

    assert [r.to for r in email.send_calls] == [EMAIL]
