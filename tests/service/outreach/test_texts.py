"""jobs.advance and the review-request timer: consent recorded per address stops a text to a later customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fieldrelay.domain import events as ev
from fieldrelay.domain.lifecycle import JobStatus
from fieldrelay.runtime import Runtime
from fieldrelay.service import bus
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.intake import jobs
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import activities, dev_sms_sent, messages, outbox, timers
from tests.conftest import START
from tests.service.support import (
    HCP,
    STRANGER,
    STRANGER_E164,
    apply,
    at,
    count,
    job_event,
    only_customer,
    pat,
    rows,
    sim_clock,
    timeline,
)

REVIEW_DELAY = timedelta(minutes=30)
NOT_SENT = "message.cancelled"


def paid_job(runtime: Runtime, customer: ev.CustomerSnapshot | None = None) -> None:
    """A job booked, completed and paid at the test start (the review text is due 30 minutes later)."""
    who = customer or pat()
    apply(
        runtime,
        job_event(ev.JobBooked, at(-300), customer=who),
        job_event(ev.JobCompleted, at(-10), customer=who),
        job_event(ev.PaymentCaptured, START, customer=who, payment_ref="job:job_1", amount_cents=45000),
    )


def when_due(runtime: Runtime) -> None:
    """Move the clock to the review request's due time and let a worker do everything due."""
    sim_clock(runtime).advance(REVIEW_DELAY.total_seconds())
    assert runtime.new_worker("followups").drain(timeout_seconds=30)


def the_message(runtime: Runtime) -> Any:
    """The one message row."""
    (row,) = rows(runtime, messages)
    return row


def test_a_review_request_goes_out_when_nothing_stands_in_its_way(runtime: Runtime) -> None:
    paid_job(runtime)
    when_due(runtime)

    (message,) = rows(runtime, messages)
    assert message.status == "delivered"
    (text,) = rows(runtime, dev_sms_sent)
    assert text.to_address == "+15125550142"
    assert "Pat" in text.body and "https://g.page/r/rapid-rooter/review" in text.body
    assert message.review_platform == "google"  # the shop's default link, named by its host
    assert [t.status for t in rows(runtime, timers)] == ["done"]
    assert timeline(runtime, only_customer(runtime).id, NOT_SENT) == []


def test_stop_from_a_number_before_any_customer_held_it_cancels_their_later_review_request(runtime: Runtime) -> None:
    apply(
        runtime,
        ev.OptedOut(
            source="twilio", occurred_at=at(-2000), customer=None, channel=ev.SMS, address=STRANGER, reason="STOP"
        ),
    )
    # Days later the same person books a job under a new customer record holding that number.
    paid_job(runtime, pat("cus_new", phones=("737-555-0199",), emails=()))
    customer = only_customer(runtime)
    assert customer.sms_opted_out is True  # the STOP recorded before the customer existed reaches their record
    assert the_message(runtime).to_address == STRANGER_E164

    when_due(runtime)

    (message,) = rows(runtime, messages)
    assert message.status == "cancelled"
    assert count(runtime, outbox) == 0
    assert count(runtime, dev_sms_sent) == 0
    (note,) = timeline(runtime, customer.id, NOT_SENT)
    assert (note.summary, note.applied, note.source, note.at) == (
        "Review request not sent: the customer opted out of texts",
        True,
        "fieldrelay",
        START + REVIEW_DELAY,
    )
    assert [t.status for t in rows(runtime, timers)] == ["done"]


def test_a_start_newer_than_the_stop_lets_the_review_request_go_out(runtime: Runtime) -> None:
    apply(
        runtime,
        ev.OptedOut(source="twilio", occurred_at=at(-2000), customer=None, address=STRANGER, reason="STOP"),
        ev.OptedIn(source="twilio", occurred_at=at(-1000), customer=None, address=STRANGER, reason="START"),
    )
    paid_job(runtime, pat("cus_new", phones=(STRANGER,), emails=()))
    when_due(runtime)

    assert the_message(runtime).status == "delivered"
    assert [t.to_address for t in rows(runtime, dev_sms_sent)] == [STRANGER_E164]


def test_a_stop_from_a_known_customer_after_payment_cancels_the_review_request(runtime: Runtime) -> None:
    paid_job(runtime)
    apply(runtime, ev.OptedOut(source="twilio", occurred_at=at(5), customer=None, address="5125550142", reason="STOP"))
    when_due(runtime)

    assert the_message(runtime).status == "cancelled"
    assert count(runtime, dev_sms_sent) == 0
    (note,) = timeline(runtime, only_customer(runtime).id, NOT_SENT)
    assert note.summary == "Review request not sent: the customer opted out of texts"


def test_a_job_cancelled_after_payment_cancels_the_review_request(runtime: Runtime) -> None:
    paid_job(runtime)
    apply(runtime, job_event(ev.JobCancelled, at(5), reason="charged back"))
    when_due(runtime)

    assert the_message(runtime).status == "cancelled"
    (note,) = timeline(runtime, only_customer(runtime).id, NOT_SENT)
    assert note.summary == "Review request not sent: the job is now cancelled"


def test_a_customer_without_a_phone_gets_no_review_request(runtime: Runtime) -> None:
    paid_job(runtime, pat(phones=()))
    when_due(runtime)

    assert the_message(runtime).status == "cancelled"
    (note,) = timeline(runtime, only_customer(runtime).id, NOT_SENT)
    assert note.summary == "Review request not sent: no phone number on record"


def test_a_stop_after_the_text_was_queued_but_before_it_was_sent_stops_it(runtime: Runtime) -> None:
    paid_job(runtime)
    sim_clock(runtime).advance(REVIEW_DELAY.total_seconds())
    worker = runtime.new_worker("followups")
    assert worker.fire_timers() == 1
    assert the_message(runtime).status == "queued"

    apply(runtime, ev.OptedOut(source="twilio", occurred_at=at(30), customer=None, address="5125550142", reason="STOP"))
    worker.deliver_outbox()

    assert count(runtime, dev_sms_sent) == 0


# --- jobs.advance ------------------------------------------------------------------------------------


def advance(runtime: Runtime, status: JobStatus, minutes: float) -> bool:
    """Call jobs.advance on job_1 in a transaction of its own, as the payment handler does (the bus then settles)."""
    now = runtime.clock.now()
    with runtime.engine.begin() as conn:
        store = SqlMirror(conn, runtime.settings.account_id, now)
        job = store.job_by_external(HCP, "job_1")
        assert job is not None
        ctx = HandlerContext(store=store, now=now, settings=runtime.settings)
        applied = jobs.advance(ctx, job, status, at(minutes), {}, "Payment captured (pi_1)", "stripe")
        bus.settle(ctx)
        return applied


def test_advance_moves_a_job_forward_and_reports_it(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-300)), job_event(ev.JobCompleted, at(-10)))

    assert advance(runtime, JobStatus.PAID, -5) is True

    customer = only_customer(runtime)
    (row,) = timeline(runtime, customer.id, "job.paid")
    assert (row.summary, row.applied, row.source) == ("Payment captured (pi_1)", True, "stripe")
    assert count(runtime, timers) == 1
    assert customer.lifecycle_stage == "customer"


def test_advance_refuses_an_event_older_than_the_current_state_and_logs_it(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-300)), job_event(ev.JobCancelled, at(-10)))
    before = count(runtime, activities)

    assert advance(runtime, JobStatus.PAID, -20) is False

    assert count(runtime, activities) == before + 1
    (row,) = timeline(runtime, only_customer(runtime).id, "job.paid")
    assert row.applied is False
    assert row.summary == "Payment captured (pi_1) — not applied: the job is already cancelled as of a later event"
    assert count(runtime, timers) == 0


def test_advance_at_the_same_instant_lets_the_later_stage_win(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-300)), job_event(ev.JobCompleted, at(-10)))
    assert advance(runtime, JobStatus.PAID, -10) is True
    assert advance(runtime, JobStatus.PAID, -10) is False, "re-applying the identical state is not a change"
    assert count(runtime, timers) == 1


def test_a_review_request_due_after_nine_at_night_waits_for_eight_in_the_morning(runtime: Runtime) -> None:
    evening = START + timedelta(hours=11, minutes=40)  # 20:40 in Chicago: due 21:10, after the text hours
    apply(runtime, job_event(ev.PaymentCaptured, evening, customer=pat(), payment_ref="job:job_1", amount_cents=100))
    message = the_message(runtime)
    assert message.scheduled_for == datetime(2026, 11, 3, 14, 0, tzinfo=UTC)  # 08:00 the next morning in Chicago
    (timer,) = rows(runtime, timers)
    assert timer.due_at == message.scheduled_for


def test_the_text_hours_are_those_of_the_customers_own_time_zone(runtime: Runtime) -> None:
    in_los_angeles = ev.CustomerSnapshot(
        external_id="cus_la",
        first_name="Lee",
        last_name="Park",
        phones=("(213) 555-0101",),
        address=ev.Address(street="200 N Spring St", postal_code="90012"),
    )
    evening = START + timedelta(hours=11, minutes=40)  # 20:40 in Chicago is 18:40 in Los Angeles
    apply(runtime, job_event(ev.PaymentCaptured, evening, customer=in_los_angeles, payment_ref="p", amount_cents=1))
    assert the_message(runtime).scheduled_for == evening + REVIEW_DELAY
