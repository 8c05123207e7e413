"""One message per intent: a booking confirmed once with its time, one "moved" text per new time, one payment
reminder when the field mapping and a sequence both ask for it, and the outbox refusing a second request."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.rules.mapping import DEFAULT_FIELD_MAPPING, FieldMapping
from fieldrelay.rules.texts import JobTexts
from fieldrelay.runtime import Runtime
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.outreach import intents
from fieldrelay.service.outreach.intents import Intent
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import messages, outbox
from tests.conftest import START, TEST_YAML
from tests.service.outreach.test_job_texts import (
    APPOINTMENT,
    OTHER_APPOINTMENT,
    REMINDER_DELAY,
    job,
    not_sent_notes,
    run_due,
    sent_bodies,
)
from tests.service.support import apply, at, count, only_customer, rows

WAIT = timedelta(minutes=JobTexts().wait_for_time_minutes)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with the playbook's own field-mapping table, every text it triggers included."""
    return settings.model_copy(update={"field_mapping": FieldMapping.model_validate(DEFAULT_FIELD_MAPPING)})


def confirmations(runtime: Runtime) -> list[str]:
    """The texts sent about the appointment (confirmations and changes), in order."""
    return [body for body in sent_bodies(runtime) if "booked" in body or "appointment is now" in body]


def test_a_booking_without_a_time_waits_for_it_and_is_confirmed_once_with_the_time(runtime: Runtime) -> None:
    # Housecall Pro: job.created (no schedule yet), then job.scheduled four minutes later.
    apply(runtime, job(ev.JobBooked, 0, snap={"scheduled_start": None}), now=at(0))
    run_due(runtime)
    assert sent_bodies(runtime) == []  # no vague "has you booked" while the time is on its way

    run_due(runtime, timedelta(minutes=4))
    apply(runtime, job(ev.JobBooked, 4), now=at(4))
    run_due(runtime)
    run_due(runtime, WAIT)

    (body,) = confirmations(runtime)
    assert "has you booked for Tue Nov 3 at 10:00 AM." in body


def test_a_time_set_twenty_minutes_after_the_booking_still_gets_one_confirmation(runtime: Runtime) -> None:
    # The office books on the call and sets the time after it, as the demo's shop does (up to 20 minutes later).
    apply(runtime, job(ev.JobBooked, 0, snap={"scheduled_start": None}), now=at(0))
    run_due(runtime)
    run_due(runtime, timedelta(minutes=20))
    assert sent_bodies(runtime) == []
    apply(runtime, job(ev.JobBooked, 20), now=at(20))
    run_due(runtime)
    run_due(runtime, WAIT)

    (body,) = confirmations(runtime)
    assert "has you booked for Tue Nov 3 at 10:00 AM." in body


def test_a_booking_whose_time_never_comes_is_confirmed_after_the_wait_without_one(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, 0, snap={"scheduled_start": None}), now=at(0))
    run_due(runtime)
    run_due(runtime, WAIT - timedelta(minutes=1))
    assert sent_bodies(runtime) == []

    run_due(runtime, timedelta(minutes=1))

    (body,) = confirmations(runtime)
    assert body.startswith("Hi Pat, Rapid Rooter Plumbing has you booked. ")


def test_a_move_after_the_confirmation_sends_one_moved_text_per_new_time(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobBooked, -60))
    run_due(runtime)
    moved = job(ev.JobRescheduled, -30, snap={"scheduled_start": OTHER_APPOINTMENT})
    apply(runtime, moved)
    run_due(runtime)
    # The field tool says the same again (a second edit with no new time): nothing new to tell the customer.
    apply(runtime, job(ev.JobRescheduled, -20, snap={"scheduled_start": OTHER_APPOINTMENT}))
    run_due(runtime)

    first, second = confirmations(runtime)
    assert "has you booked for Tue Nov 3 at 10:00 AM." in first
    assert "your appointment is now Thu Nov 5 at 2:30 PM." in second
    assert "Appointment change not sent: the customer was already told this appointment time" in not_sent_notes(runtime)
    purposes = [m.purpose for m in rows(runtime, messages) if m.status == "delivered"]
    assert sorted(purposes) == ["appointment_moved", "confirmation_text"]
    back = job(ev.JobRescheduled, -10, snap={"scheduled_start": APPOINTMENT})
    apply(runtime, back)
    run_due(runtime)
    assert "your appointment is now Tue Nov 3 at 10:00 AM." in confirmations(runtime)[-1]
    assert len(confirmations(runtime)) == 3


@pytest.fixture
def reminder_settings() -> Settings:
    """The playbook's mapping (a payment-reminder text 3 days after the invoice) and its payment_reminders sequence,
    whose day-3 text asks for the same thing."""
    text = TEST_YAML.replace("sequences: {}\n", "")
    settings = parse_settings(text, "test.yaml")
    return settings.model_copy(update={"field_mapping": FieldMapping.model_validate(DEFAULT_FIELD_MAPPING)})


def test_the_mapping_and_the_sequence_asking_for_a_payment_reminder_send_one(
    runtime: Runtime, reminder_settings: Settings
) -> None:
    runtime.settings = reminder_settings
    apply(runtime, job(ev.JobBooked, -300), job(ev.JobCompleted, -60))
    apply(runtime, job(ev.JobInvoiced, 0, snap={"balance_cents": 45000}))
    run_due(runtime, REMINDER_DELAY + timedelta(hours=1))

    reminders = [body for body in sent_bodies(runtime) if "still open" in body]
    assert len(reminders) == 1
    cancelled = [m.purpose for m in rows(runtime, messages) if m.status == "cancelled" and "reminder" in m.purpose]
    assert len(cancelled) == 1 and cancelled[0] in ("payment_reminder", "payment_reminders.day_3")
    (note,) = [n for n in not_sent_notes(runtime) if "already sent as" in n]
    assert "payment reminder" in note


def test_the_outbox_queues_an_intent_once_and_a_repeat_of_the_same_message_is_not_a_second_intent(
    runtime: Runtime,
) -> None:
    apply(runtime, job(ev.JobBooked, -60, snap={"scheduled_start": None}))
    customer_id = only_customer(runtime).id
    intent = Intent("welcome", "customer")

    def offer(message_id: str) -> bool:
        with runtime.engine.begin() as conn:
            store = SqlMirror(conn, runtime.settings.account_id, START)
            store.insert_message(
                {
                    "id": message_id,
                    "customer_id": customer_id,
                    "channel": "sms",
                    "purpose": "welcome",
                    "to_address": "+15125550142",
                    "body": "Welcome",
                    "status": "queued",
                    "scheduled_for": START,
                }
            ) if store.get_message(message_id) is None else None
            ctx = HandlerContext(store=store, now=START, settings=runtime.settings)
            payload = {"to": "+15125550142", "body": "Welcome"}
            return intents.queue(
                ctx,
                message_id=message_id,
                customer_id=customer_id,
                channel="sms",
                intent=intent,
                payload=payload,
                label="Welcome text",
            )

    first_id, second_id = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
    assert offer(first_id) is True
    assert offer(first_id) is True  # the same message again: already queued, nothing noted
    assert offer(second_id) is False

    assert count(runtime, outbox, outbox.c.message_id.in_((first_id, second_id))) == 1
    assert [m.status for m in rows(runtime, messages, messages.c.id == second_id)] == ["cancelled"]
    assert not_sent_notes(runtime) == ["Welcome text not sent: already sent as welcome"]
