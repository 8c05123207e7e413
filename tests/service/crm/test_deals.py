"""Deals along the default pipeline: which event opens or moves the customer's deal, and the no-decision timer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fieldrelay.domain import events as ev
from fieldrelay.rules.pipeline import Pipeline
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import deals, timers
from tests.conftest import START
from tests.service.support import HCP, apply, at, job_event, only_customer, pat, rows, sim_clock, timeline

NEW_LEAD = "New lead - needs qualification"
APPROVED = "Work approved - scheduled for work"
WAIT = timedelta(days=14)


def lead(minutes: float, ref: str = "sub_1") -> ev.LeadReceived:
    """Pat asks for a quote through the web form."""
    return ev.LeadReceived(
        source="forms", occurred_at=at(minutes), customer=pat(), lead_ref=ref, service="Furnace replacement"
    )


def estimate(
    kind: type[ev.EstimateEvent], minutes: float, ref: str = "est_1", total: int | None = 1_250_000
) -> ev.EstimateEvent:
    """A Housecall Pro estimate event for Pat."""
    snapshot = ev.EstimateSnapshot(external_id=ref, number="1042", total_cents=total)
    return kind(source=HCP, occurred_at=at(minutes), customer=pat(), estimate=snapshot)


def all_deals(runtime: Runtime) -> list[Any]:
    """Every deal, oldest first."""
    return sorted(rows(runtime, deals), key=lambda d: (d.created_at, d.stage_at))


def the_deal(runtime: Runtime) -> Any:
    """The one deal."""
    (deal,) = rows(runtime, deals)
    return deal


def stage_notes(runtime: Runtime) -> list[str]:
    """The customer's deal.stage activities, in order."""
    return [a.summary for a in timeline(runtime, only_customer(runtime).id, "deal.stage")]


def when_due(runtime: Runtime, after: timedelta) -> None:
    """Move the clock on and let a worker do everything due."""
    sim_clock(runtime).advance(after.total_seconds())
    assert runtime.new_worker("deals").drain(timeout_seconds=30)


def test_the_tests_run_on_the_default_pipeline(runtime: Runtime) -> None:
    assert runtime.settings.pipeline == Pipeline()


# --- each move -----------------------------------------------------------------------------------------------------


def test_a_lead_opens_a_deal_at_new_lead(runtime: Runtime) -> None:
    apply(runtime, lead(-5))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.is_open, deal.value_cents, deal.reason) == (
        "new_lead",
        at(-5),
        True,
        None,
        None,
    )
    assert deal.customer_id == only_customer(runtime).id
    (note,) = timeline(runtime, deal.customer_id, "deal.stage")
    assert (note.summary, note.at, note.source, note.applied) == (
        f"Deal opened at {NEW_LEAD}",
        at(-5),
        "fieldrelay",
        True,
    )


def test_a_booking_moves_the_lead_to_scheduled_with_the_jobs_amount(runtime: Runtime) -> None:
    apply(runtime, lead(-60), job_event(ev.JobBooked, at(-10)))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.is_open, deal.value_cents) == ("scheduled", at(-10), True, 45000)
    assert stage_notes(runtime) == [f"Deal opened at {NEW_LEAD}", f"Deal moved from {NEW_LEAD} to Scheduled"]


def test_a_booking_without_a_lead_opens_the_deal_at_scheduled(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-10)))

    deal = the_deal(runtime)
    assert (deal.stage, deal.is_open, deal.value_cents) == ("scheduled", True, 45000)
    assert stage_notes(runtime) == ["Deal opened at Scheduled"]


def test_a_sent_estimate_moves_the_deal_to_estimate_sent_with_its_total(runtime: Runtime) -> None:
    apply(runtime, lead(-60), job_event(ev.JobBooked, at(-30)), estimate(ev.EstimateSent, -10))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.value_cents) == ("estimate_sent", at(-10), 1_250_000)
    assert stage_notes(runtime)[-1] == "Deal moved from Scheduled to Estimate sent"


def test_an_accepted_estimate_moves_the_deal_to_work_approved(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, -60), estimate(ev.EstimateAccepted, -10, total=1_100_000))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.is_open, deal.value_cents) == ("work_approved", at(-10), True, 1_100_000)
    assert stage_notes(runtime) == ["Deal opened at Estimate sent", f"Deal moved from Estimate sent to {APPROVED}"]


def test_a_declined_estimate_closes_the_deal_as_lost(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, -60), estimate(ev.EstimateDeclined, -10))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.is_open, deal.reason) == ("lost", at(-10), False, None)
    assert stage_notes(runtime)[-1] == "Deal moved from Estimate sent to Lost"


def test_a_new_estimate_after_a_lost_deal_opens_a_new_deal(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, -60), estimate(ev.EstimateDeclined, -30))
    apply(runtime, estimate(ev.EstimateSent, -10, "est_2", total=900_000))

    lost, fresh = all_deals(runtime)
    assert (lost.stage, lost.is_open) == ("lost", False)
    assert (fresh.stage, fresh.is_open, fresh.value_cents) == ("estimate_sent", True, 900_000)
    assert stage_notes(runtime)[-1] == "Deal opened at Estimate sent"


def test_a_payment_closes_the_deal_as_won_and_a_later_lead_opens_a_new_one(runtime: Runtime) -> None:
    apply(
        runtime,
        lead(-600),
        job_event(ev.JobBooked, at(-300)),
        job_event(ev.JobCompleted, at(-60)),
        job_event(ev.PaymentCaptured, at(-30), payment_ref="pay_1", amount_cents=47500),
    )
    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.is_open, deal.value_cents) == ("won", at(-30), False, 47500)
    assert stage_notes(runtime)[-1] == "Deal moved from Scheduled to Won"

    apply(runtime, lead(-5, "sub_2"))

    won, fresh = all_deals(runtime)
    assert (won.id, won.stage, won.is_open) == (deal.id, "won", False)
    assert (fresh.stage, fresh.stage_at, fresh.is_open) == ("new_lead", at(-5), True)
    assert stage_notes(runtime)[-1] == f"Deal opened at {NEW_LEAD}"


def test_a_cancellation_parks_the_deal_in_nurture_with_the_reason(runtime: Runtime) -> None:
    apply(runtime, lead(-600), job_event(ev.JobBooked, at(-300)), job_event(ev.JobCancelled, at(-10), reason="Sold"))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.is_open, deal.reason) == ("nurture", at(-10), True, "Sold")
    assert stage_notes(runtime)[-1] == "Deal moved from Scheduled to Nurture: Sold"


def test_a_booking_after_nurture_moves_the_deal_on(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-300)), job_event(ev.JobCancelled, at(-200), reason="Out of town"))
    apply(runtime, job_event(ev.JobBooked, at(-10), job_id="job_2", total_cents=30000))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.is_open, deal.value_cents) == ("scheduled", at(-10), True, 30000)
    assert stage_notes(runtime) == [
        "Deal opened at Scheduled",
        "Deal moved from Scheduled to Nurture: Out of town",
        "Deal moved from Nurture to Scheduled",
    ]


def test_a_deal_moved_on_from_nurture_no_longer_carries_the_cancellation_reason(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-300)), job_event(ev.JobCancelled, at(-200), reason="Out of town"))
    apply(runtime, job_event(ev.JobBooked, at(-10), job_id="job_2"))

    assert the_deal(runtime).reason is None


def test_a_booking_after_work_approved_does_not_move_the_deal_back(runtime: Runtime) -> None:
    apply(runtime, lead(-600), estimate(ev.EstimateSent, -300), estimate(ev.EstimateAccepted, -200))
    notes = stage_notes(runtime)

    apply(runtime, job_event(ev.JobBooked, at(-10)))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.value_cents) == ("work_approved", at(-200), 1_250_000)
    assert stage_notes(runtime) == notes


def test_an_older_event_does_not_move_the_deal(runtime: Runtime) -> None:
    apply(runtime, lead(-600), job_event(ev.JobBooked, at(-10)))
    # An estimate sent before the booking, delivered after it: recorded on the estimate, not on the deal.
    apply(runtime, estimate(ev.EstimateSent, -20))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.value_cents) == ("scheduled", at(-10), 45000)
    assert stage_notes(runtime) == [f"Deal opened at {NEW_LEAD}", f"Deal moved from {NEW_LEAD} to Scheduled"]


def test_an_older_cancellation_of_another_job_does_not_park_the_deal(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), job_id="job_2"), job_event(ev.JobBooked, at(-10)))
    apply(runtime, job_event(ev.JobCancelled, at(-20), job_id="job_2", reason="Duplicate"))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.reason) == ("scheduled", at(-10), None)


def test_a_payment_with_no_open_deal_records_a_won_deal(runtime: Runtime) -> None:
    # A walk-in job: the first the mirror hears of it is the payment.
    apply(runtime, job_event(ev.PaymentCaptured, at(-5), payment_ref="pay_1", amount_cents=19900))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.is_open, deal.value_cents) == ("won", at(-5), False, 19900)
    assert stage_notes(runtime) == ["Deal opened at Won"]


def test_a_payment_after_a_lost_deal_records_a_new_won_deal(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, -600), estimate(ev.EstimateDeclined, -500))
    apply(runtime, job_event(ev.PaymentCaptured, at(-5), payment_ref="pay_1", amount_cents=19900))

    lost, won = all_deals(runtime)
    assert (lost.stage, won.stage, won.is_open, won.value_cents) == ("lost", "won", False, 19900)


def test_a_cancellation_with_no_open_deal_opens_nothing(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobCancelled, at(-5), reason="Booked by mistake"))

    assert rows(runtime, deals) == []
    assert stage_notes(runtime) == []


def test_a_cancellation_after_a_won_deal_opens_nothing(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600)), job_event(ev.PaymentCaptured, at(-500), amount_cents=45000))
    apply(runtime, job_event(ev.JobBooked, at(-100), job_id="job_2"))
    apply(runtime, job_event(ev.JobCancelled, at(-5), job_id="job_2", reason="Changed mind"))

    won, parked = all_deals(runtime)
    assert (won.stage, won.is_open) == ("won", False)
    assert (parked.stage, parked.is_open, parked.reason) == ("nurture", True, "Changed mind")


def test_the_deal_value_follows_the_latest_estimate_or_job_amount(runtime: Runtime) -> None:
    apply(runtime, lead(-600))
    values = [the_deal(runtime).value_cents]
    apply(runtime, job_event(ev.JobBooked, at(-500), total_cents=9900))
    values.append(the_deal(runtime).value_cents)
    apply(runtime, estimate(ev.EstimateSent, -400, total=1_250_000))
    values.append(the_deal(runtime).value_cents)
    apply(runtime, estimate(ev.EstimateAccepted, -300, total=1_100_000))
    values.append(the_deal(runtime).value_cents)
    apply(runtime, job_event(ev.PaymentCaptured, at(-10), payment_ref="pay_1", amount_cents=1_099_000))
    values.append(the_deal(runtime).value_cents)

    assert values == [None, 9900, 1_250_000, 1_100_000, 1_099_000]


# --- the no-decision timer -----------------------------------------------------------------------------------------


def test_sending_an_estimate_plans_the_no_decision_check_after_fourteen_days(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, 0))

    (timer,) = [t for t in rows(runtime, timers) if t.kind == "deal_no_decision"]
    assert (timer.due_at, timer.status) == (START + WAIT, "pending")


def test_an_estimate_still_only_sent_after_fourteen_days_moves_the_deal_to_no_decision(runtime: Runtime) -> None:
    apply(runtime, lead(-60), estimate(ev.EstimateSent, 0))

    when_due(runtime, WAIT - timedelta(minutes=1))
    assert the_deal(runtime).stage == "estimate_sent"

    when_due(runtime, timedelta(minutes=1))
    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at, deal.is_open) == ("no_decision", START + WAIT, True)
    (note,) = [a for a in timeline(runtime, deal.customer_id, "deal.stage") if a.at == START + WAIT]
    assert note.summary == "Deal moved to No decision: no answer to the estimate in 14 days"


def test_an_accepted_estimate_does_not_move_the_deal_to_no_decision(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, 0), estimate(ev.EstimateAccepted, 60 * 24 * 3))

    when_due(runtime, WAIT)

    assert the_deal(runtime).stage == "work_approved"
    assert not any("No decision" in note for note in stage_notes(runtime))
    assert [t.status for t in rows(runtime, timers) if t.kind == "deal_no_decision"] == ["done"]


def test_a_declined_estimate_does_not_reopen_the_lost_deal_when_the_wait_ends(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, 0), estimate(ev.EstimateDeclined, 60))

    when_due(runtime, WAIT)

    deal = the_deal(runtime)
    assert (deal.stage, deal.is_open) == ("lost", False)


def test_an_answer_after_no_decision_moves_the_deal_on(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, 0))
    when_due(runtime, WAIT)
    assert the_deal(runtime).stage == "no_decision"

    later = WAIT + timedelta(days=2)
    apply(runtime, estimate(ev.EstimateAccepted, later.total_seconds() / 60))

    deal = the_deal(runtime)
    assert (deal.stage, deal.stage_at) == ("work_approved", START + later)
    assert stage_notes(runtime)[-1] == f"Deal moved from No decision to {APPROVED}"


def test_an_older_estimates_wait_does_not_park_a_deal_whose_newer_estimate_is_still_fresh(runtime: Runtime) -> None:
    apply(runtime, estimate(ev.EstimateSent, 0, "est_1"))
    apply(runtime, estimate(ev.EstimateSent, 60 * 24 * 10, "est_2", total=990_000), now=START + timedelta(days=10))

    when_due(runtime, WAIT)  # est_1's wait ends; est_2 was sent four days ago

    assert the_deal(runtime).stage == "estimate_sent"
