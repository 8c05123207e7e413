"""Job texts the default field-mapping table triggers: confirmation, on-the-way and payment reminder.

Each is planned on a durable timer when its event is applied and re-checked when it falls due: it goes out only if
the job still stands where that event left it and the customer has not opted out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.rules.mapping import DEFAULT_FIELD_MAPPING, FieldMapping
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import dev_sms_sent, messages, outbox, timers
from tests.conftest import START
from tests.service.support import HCP, PAT_E164, apply, at, count, only_customer, pat, rows, sim_clock, timeline

APPOINTMENT = datetime(2026, 11, 3, 16, 0, tzinfo=UTC)  # Tuesday 10:00 in Chicago
OTHER_APPOINTMENT = datetime(2026, 11, 5, 20, 30, tzinfo=UTC)  # Thursday 14:30 in Chicago
NOT_SENT = "message.cancelled"
REMINDER_DELAY = timedelta(days=3)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with the playbook's own field-mapping table, every text it triggers included."""
    return settings.model_copy(update={"field_mapping": FieldMapping.model_validate(DEFAULT_FIELD_MAPPING)})


def job(kind: type[ev.JobEvent], minutes: float, snap: dict[str, Any] | None = None, **extra: Any) -> ev.JobEvent:
    """A Housecall Pro event about Pat's furnace job booked for Tuesday 10:00, ``minutes`` after the test start."""
    details: dict[str, Any] = {
        "service_type": "Furnace install",
        "total_cents": 45000,
        "scheduled_start": APPOINTMENT,
        **(snap or {}),
    }
    return kind(
        source=HCP, occurred_at=at(minutes), customer=pat(), job=ev.JobSnapshot(external_id="job_1", **details), **extra
    )


def run_due(runtime: Runtime, after: timedelta = timedelta(0)) -> None:
    """Move the clock on by ``after`` and let a worker do everything due."""
    sim_clock(runtime).advance(after.total_seconds())
    assert runtime.new_worker("texts").drain(timeout_seconds=30)


def the_text(runtime: Runtime, purpose: str, trigger_at: datetime | None = None) -> Any:
    """The one message of a purpose (planned by the event at ``trigger_at`` when given)."""
    (message,) = [
        m
        for m in rows(runtime, messages)
        if m.purpose == purpose and (trigger_at is None or m.trigger_at == trigger_at)
    ]
    return message


def sent_bodies(runtime: Runtime) -> list[str]:
    """What the development SMS provider sent, in order."""
    return [row.body for row in rows(runtime, dev_sms_sent)]


def not_sent_notes(runtime: Runtime) -> list[str]:
    """The timeline's notes of texts cancelled when due."""
    return [row.summary for row in timeline(runtime, only_customer(runtime).id, NOT_SENT)]


def test_the_confirmation_goes_out_when_due_with_the_appointment_in_shop_time(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -10))
    run_due(runtime)

    (sent,) = rows(runtime, dev_sms_sent)
    assert sent.to_address == PAT_E164
    assert sent.body == (
        "Hi Pat, Rapid Rooter Plumbing has you booked for Tue Nov 3 at 10:00 AM. "
        "Reply to this text with any questions. Reply STOP to opt out."
    )
    message = the_text(runtime, "confirmation_text")
    assert (message.status, message.body) == ("delivered", sent.body)
    assert [t.status for t in rows(runtime, timers)] == ["done"]
    assert not_sent_notes(runtime) == []


def test_the_same_booking_delivered_twice_plans_and_sends_one_confirmation(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -10))
    apply(runtime, job(ev.JobBooked, -10))
    run_due(runtime)

    assert count(runtime, messages) == 1
    assert count(runtime, timers) == 1
    assert len(sent_bodies(runtime)) == 1


def test_a_reschedule_before_the_confirmation_went_out_cancels_it_and_sends_the_new_one(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -20))
    apply(runtime, job(ev.JobRescheduled, -10, snap={"scheduled_start": OTHER_APPOINTMENT}))
    run_due(runtime)

    first, second = the_text(runtime, "confirmation_text", at(-20)), the_text(runtime, "confirmation_text", at(-10))
    assert (first.status, second.status) == ("cancelled", "delivered")
    assert not_sent_notes(runtime) == [
        "Appointment confirmation not sent: the job changed since (now rescheduled as of 2026-11-02 14:50Z)"
    ]
    (body,) = sent_bodies(runtime)
    assert "booked for Thu Nov 5 at 2:30 PM." in body


def test_the_eta_text_goes_out_with_the_technicians_name(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -60))
    run_due(runtime)
    apply(runtime, job(ev.JobDispatched, -5, snap={"technicians": ("Alex Kim",)}))
    run_due(runtime)

    assert the_text(runtime, "eta_text").status == "delivered"
    assert sent_bodies(runtime)[-1] == (
        "Hi Pat, Alex Kim from Rapid Rooter Plumbing is on the way. Reply STOP to opt out."
    )


def test_an_eta_text_is_cancelled_when_the_job_already_moved_on(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -60))
    run_due(runtime)
    sent_before = sent_bodies(runtime)

    apply(runtime, job(ev.JobDispatched, -20, snap={"technicians": ("Alex Kim",)}), job(ev.JobArrived, -10))
    run_due(runtime)

    assert the_text(runtime, "eta_text").status == "cancelled"
    assert not_sent_notes(runtime) == ["On-the-way text not sent: the job is now arrived"]
    assert sent_bodies(runtime) == sent_before


def test_the_payment_reminder_waits_three_days_and_names_the_open_balance(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -300), job(ev.JobCompleted, -60))
    apply(runtime, job(ev.JobInvoiced, 0, snap={"balance_cents": 45000}))

    run_due(runtime, REMINDER_DELAY - timedelta(minutes=1))
    assert the_text(runtime, "payment_reminder").status == "scheduled"
    assert not any("reminder" in body for body in sent_bodies(runtime))

    run_due(runtime, timedelta(minutes=1))
    assert the_text(runtime, "payment_reminder").status == "delivered"
    assert sent_bodies(runtime)[-1] == (
        "Hi Pat, a friendly reminder from Rapid Rooter Plumbing: your invoice of $450.00 is still open. "
        "Reply STOP to opt out."
    )


def test_a_payment_before_the_reminder_is_due_cancels_the_reminder(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -300), job(ev.JobCompleted, -60))
    apply(runtime, job(ev.JobInvoiced, 0, snap={"balance_cents": 45000}))
    apply(runtime, job(ev.PaymentCaptured, 60, payment_ref="pay_1", amount_cents=45000), now=at(61))

    run_due(runtime, REMINDER_DELAY)

    assert the_text(runtime, "payment_reminder").status == "cancelled"
    assert "Payment reminder not sent: the job is now paid" in not_sent_notes(runtime)
    assert the_text(runtime, "review_request").status == "delivered", "the payment's own text still goes out"
    assert not any("friendly reminder" in body for body in sent_bodies(runtime))


def test_an_opted_out_customer_gets_none_of_the_job_texts(runtime: Runtime) -> None:
    apply(
        runtime,
        ev.OptedOut(source="twilio", occurred_at=at(-2000), customer=None, address="5125550142", reason="STOP"),
    )
    apply(runtime, job(ev.JobBooked, -300))
    run_due(runtime)
    apply(runtime, job(ev.JobDispatched, -200, snap={"technicians": ("Alex Kim",)}))
    run_due(runtime)
    apply(runtime, job(ev.JobCompleted, -60), job(ev.JobInvoiced, 0, snap={"balance_cents": 45000}))
    run_due(runtime, REMINDER_DELAY)

    assert {m.purpose: m.status for m in rows(runtime, messages)} == {
        "confirmation_text": "cancelled",
        "eta_text": "cancelled",
        "payment_reminder": "cancelled",
    }
    assert count(runtime, dev_sms_sent) == 0
    assert count(runtime, outbox) == 0
    assert sorted(not_sent_notes(runtime)) == [
        "Appointment confirmation not sent: the customer opted out of texts",
        "On-the-way text not sent: the customer opted out of texts",
        "Payment reminder not sent: the customer opted out of texts",
    ]


def test_an_opted_out_customer_gets_no_confirmation(runtime: Runtime) -> None:
    apply(
        runtime,
        ev.OptedOut(source="twilio", occurred_at=at(-2000), customer=None, address="5125550142", reason="STOP"),
    )
    apply(runtime, job(ev.JobBooked, -10))
    run_due(runtime)

    assert the_text(runtime, "confirmation_text").status == "cancelled"
    assert not_sent_notes(runtime) == ["Appointment confirmation not sent: the customer opted out of texts"]
    assert count(runtime, dev_sms_sent) == 0


def test_a_late_text_is_sent_as_soon_as_it_can_be(runtime: Runtime) -> None:
    # The booking happened an hour before it reached fieldrelay: the confirmation is due now, not in the past.
    apply(runtime, job(ev.JobBooked, -60))
    message = the_text(runtime, "confirmation_text")
    assert (message.trigger_at, message.scheduled_for) == (at(-60), START)
