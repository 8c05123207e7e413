"""The default sequence library on the simulated clock: satisfaction check, ratings, the plan offer and its branches,
review follow-ups, STOP mid-sequence, re-engagement, payment reminders, rebooking and promised steps under the cap."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.sequences.tables import enrollments
from fieldrelay.storage.tables import customer_fields, messages, timers
from tests.conftest import START
from tests.service.sequences.support import (
    at,
    emails,
    engaged,
    enrolled_in,
    enrollment,
    job,
    library_settings,
    open_tasks,
    reply,
    run_for,
    run_until,
    sent_purposes,
    texts,
)
from tests.service.support import apply, count, only_customer, pat, rows, timeline


@pytest.fixture
def settings() -> Settings:
    """The default sequence library."""
    return library_settings()


def completed_and_rated(
    runtime: Runtime, rating: str, total_cents: int = 45000, service: str = "Drain cleaning"
) -> None:
    """A job completed at the start; the satisfaction text goes out at 09:30 and Pat answers at 10:00."""
    apply(runtime, job(ev.JobCompleted, START, total_cents=total_cents, service=service))
    run_until(runtime, at(0.5))
    apply(runtime, reply(rating, at(1)), now=at(1))
    run_until(runtime, at(1))


def test_a_completed_job_gets_a_satisfaction_text_within_30_minutes(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobCompleted, START))
    run_until(runtime, at(0.4))
    assert texts(runtime) == []

    run_until(runtime, at(0.5))

    (text,) = texts(runtime)
    assert "Reply with a number from 1 (poor) to 5 (great)" in text.body and text.body.startswith("Hi Pat")
    row = enrollment(runtime, "satisfaction_check")
    assert (row.status, row.last_step) == ("completed", "ask")


def test_the_same_completion_delivered_twice_enrols_once(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobCompleted, START))
    apply(runtime, job(ev.JobCompleted, START))
    run_until(runtime, at(1))
    assert [t.body[:6] for t in texts(runtime)] == ["Hi Pat"]
    assert enrolled_in(runtime).count("satisfaction_check") == 1


def test_a_low_rating_opens_a_service_recovery_task_and_no_offer(runtime: Runtime) -> None:
    completed_and_rated(runtime, "2")
    run_for(runtime, 24 * 6)

    (task,) = open_tasks(runtime)
    assert (task.role, task.kind) == ("operations", "service_recovery.call")
    assert task.title.endswith("(2/5)") and task.due_at == at(1) + timedelta(hours=4)  # opened as the rating came
    assert "maintenance_plan_offer" not in enrolled_in(runtime)
    assert [p for _, p in sent_purposes(runtime)] == ["satisfaction_check.ask"]
    customer = only_customer(runtime)
    (rating,) = rows(runtime, customer_fields, customer_fields.c.field == "satisfaction_rating")
    assert rating.value == 2
    assert [a.summary for a in timeline(runtime, customer.id, "rating.received")] == ["Rated the job 2/5"]


def test_a_task_that_would_fall_due_after_closing_is_due_when_the_shop_opens(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobCompleted, at(8)))  # 17:00 on Monday; the satisfaction text goes out at 17:30
    run_until(runtime, at(8.5))
    apply(runtime, reply("2", at(10)), now=at(10))  # 19:00: four hours on, the shop is closed
    run_until(runtime, at(10))

    (task,) = open_tasks(runtime)
    assert task.kind == "service_recovery.call" and task.due_at == at(23)  # Tuesday 08:00, when the office opens


def test_a_high_rating_on_a_big_ticket_gets_the_matching_plan_offer_at_48_hours_by_text_and_email(
    runtime: Runtime,
) -> None:
    completed_and_rated(runtime, "5")
    run_until(runtime, at(47.9))
    assert len(texts(runtime)) == 1  # only the satisfaction text so far

    run_until(runtime, at(48))

    offer_text = texts(runtime)[-1]
    (offer_email,) = emails(runtime)
    assert "Drain-care plan" in offer_text.body
    assert offer_email.subject == "Keep it running with the Drain-care plan"
    assert open_tasks(runtime) == []


def test_no_response_to_the_offer_in_48_hours_opens_one_personal_call_task(runtime: Runtime) -> None:
    completed_and_rated(runtime, "4")
    run_until(runtime, at(96))

    (task,) = open_tasks(runtime)
    assert (task.role, task.kind) == ("sales", "maintenance_plan_offer.personal_call")
    # Nothing was opened, so the opened-but-not-clicked nudge is skipped at 120 hours.
    run_until(runtime, at(121))
    assert [p for _, p in sent_purposes(runtime)].count("maintenance_plan_offer.nudge") == 0
    # Every step is done but the call is still open: the enrolment waits for its outcome (tests/service/tasks).
    row = enrollment(runtime, "maintenance_plan_offer")
    assert (row.status, row.next_step) == ("active", 4)


def test_an_offer_email_opened_but_not_clicked_gets_a_text_nudge_and_a_reply_skips_the_call(runtime: Runtime) -> None:
    completed_and_rated(runtime, "5")
    run_until(runtime, at(48))
    (offer_email,) = emails(runtime)
    apply(
        runtime,
        engaged(offer_email.provider_message_id, "opened", at(50)),
        reply("what does the plan cost?", at(60)),
        now=at(60),
    )
    run_until(runtime, at(121))

    assert open_tasks(runtime) == []  # they replied: no call task
    assert sent_purposes(runtime)[-1] == ("sms", "maintenance_plan_offer.nudge")


def test_a_click_on_the_offer_means_no_nudge(runtime: Runtime) -> None:
    completed_and_rated(runtime, "5")
    run_until(runtime, at(48))
    (offer_email,) = emails(runtime)
    apply(
        runtime,
        engaged(offer_email.provider_message_id, "clicked", at(49), "https://example.com/book"),
        now=at(49),
    )
    run_until(runtime, at(121))
    assert "maintenance_plan_offer.nudge" not in [p for _, p in sent_purposes(runtime)]
    assert open_tasks(runtime) == []  # a click is a response


@pytest.mark.parametrize(
    ("rating", "total_cents", "why"),
    [("5", 20000, "ticket under $250"), ("3", 45000, "rating 3"), ("hmm, 3 or 4?", 45000, "not a rating")],
)
def test_no_plan_offer_below_the_threshold_or_without_a_high_rating(
    runtime: Runtime, rating: str, total_cents: int, why: str
) -> None:
    completed_and_rated(runtime, rating, total_cents=total_cents)
    run_until(runtime, at(130))
    assert "maintenance_plan_offer" not in enrolled_in(runtime), why
    assert emails(runtime) == []


def test_a_customer_who_holds_a_plan_gets_no_offer(runtime: Runtime) -> None:
    apply(
        runtime,
        job(ev.PaymentCaptured, at(-1000), job_id="plan_1", service="Drain-care maintenance plan", total_cents=19900),
    )
    completed_and_rated(runtime, "5")
    run_until(runtime, at(130))
    assert "maintenance_plan_offer" not in enrolled_in(runtime)
    assert [a.summary for a in timeline(runtime, only_customer(runtime).id, "plan.joined")] == [
        "Joined a plan: Drain-care maintenance plan"
    ]


def test_stop_mid_sequence_cancels_every_pending_marketing_step_on_all_channels(runtime: Runtime) -> None:
    completed_and_rated(runtime, "5")
    apply(runtime, job(ev.PaymentCaptured, at(2)), now=at(2))
    active = {row.sequence for row in rows(runtime, enrollments, enrollments.c.status == "active")}
    assert {"maintenance_plan_offer", "review_follow_up"} <= active

    apply(runtime, reply("STOP", at(3)), now=at(3))  # a STOP is a reply too; the Twilio connector sends both
    apply(
        runtime,
        ev.OptedOut(source="twilio", occurred_at=at(3), customer=None, address="+15125550142", reason="STOP"),
        now=at(3),
    )
    run_until(runtime, at(24 * 100))

    assert rows(runtime, enrollments, enrollments.c.status == "active") == []
    for name in ("maintenance_plan_offer", "review_follow_up"):
        row = enrollment(runtime, name)
        assert (row.status, row.exit_reason) == ("exited", "opted out")
    assert emails(runtime) == []  # the email steps stopped too, not only texts
    assert count(runtime, timers, timers.c.kind == "sequence_step", timers.c.status == "pending") == 0
    assert [p for _, p in sent_purposes(runtime)] == ["satisfaction_check.ask"]


def test_review_follow_up_emails_on_day_2_and_nudges_on_day_7(runtime: Runtime) -> None:
    apply(runtime, job(ev.PaymentCaptured, START))
    run_until(runtime, at(24 * 2))
    (email,) = emails(runtime)
    assert "https://g.page/r/rapid-rooter/review" in email.body
    run_until(runtime, at(24 * 7 + 1))
    assert [p for _, p in sent_purposes(runtime)] == [
        "review_request",
        "review_follow_up.email",
        "review_follow_up.last_nudge",
    ]


def test_a_click_on_the_review_link_stops_the_review_nudges(runtime: Runtime) -> None:
    apply(runtime, job(ev.PaymentCaptured, START))
    run_until(runtime, at(48))
    (email,) = emails(runtime)
    apply(
        runtime,
        engaged(email.provider_message_id, "clicked", at(49), "https://g.page/r/rapid-rooter/review"),
        now=at(49),
    )
    run_until(runtime, at(24 * 8))
    row = enrollment(runtime, "review_follow_up")
    assert (row.status, row.exit_reason) == ("exited", "clicked the review link")
    assert "review_follow_up.last_nudge" not in [p for _, p in sent_purposes(runtime)]


def test_the_review_request_links_the_platform_the_customer_came_from(runtime: Runtime) -> None:
    apply(runtime, job(ev.PaymentCaptured, START, customer=replace(pat(), lead_source="Yelp")))
    run_until(runtime, at(1))
    assert "https://www.yelp.com/writeareview/biz/your-shop" in texts(runtime)[0].body


def test_each_review_ask_records_the_platform_of_the_link_it_carried(runtime: Runtime) -> None:
    apply(runtime, job(ev.PaymentCaptured, START, customer=replace(pat(), lead_source="Yelp")))
    run_until(runtime, at(24 * 2 + 1))
    platforms = {m.purpose: m.review_platform for m in rows(runtime, messages)}
    assert platforms["review_request"] == platforms["review_follow_up.email"] == "yelp"
    assert all(platform is None for purpose, platform in platforms.items() if not purpose.startswith("review"))


def test_a_cancelled_job_gets_a_re_engagement_text_within_2_hours(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobCancelled, START, reason="customer_cancelled"))
    run_until(runtime, at(2))
    (text,) = texts(runtime)
    assert "sorry we missed you" in text.body
    assert text.sent_at <= at(2)


def test_booking_again_ends_the_re_engagement_before_it_is_sent(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobCancelled, START, reason="customer_cancelled"))
    apply(runtime, job(ev.JobBooked, at(0.5), job_id="job_2"), now=at(0.5))
    run_until(runtime, at(3))
    assert texts(runtime) == []
    assert enrollment(runtime, "re_engagement").exit_reason == "booked again"


def test_an_unpaid_invoice_gets_reminders_on_day_3_and_day_7_and_payment_stops_them(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobInvoiced, START, amount_cents=45000))
    run_until(runtime, at(24 * 3 + 1))
    assert [p for _, p in sent_purposes(runtime)] == ["payment_reminders.day_3"]
    apply(runtime, job(ev.PaymentCaptured, at(24 * 4)), now=at(24 * 4))
    run_until(runtime, at(24 * 8))
    assert "payment_reminders.day_7" not in [p for _, p in sent_purposes(runtime)]
    assert enrollment(runtime, "payment_reminders").exit_reason == "paid"


def test_an_estimate_with_no_decision_starts_the_rebooking_sequence(runtime: Runtime) -> None:
    apply(
        runtime,
        ev.EstimateSent(
            source="housecallpro", occurred_at=START, customer=pat(), estimate=ev.EstimateSnapshot(external_id="est_1")
        ),
    )
    run_until(runtime, at(24 * 14 + 1))
    assert "rebooking" in enrolled_in(runtime)
    assert "still thinking about the estimate" in texts(runtime)[-1].body
    run_until(runtime, at(24 * 21 + 1))
    assert emails(runtime)[-1].subject == "Your estimate from Rapid Rooter Plumbing"
    run_until(runtime, at(24 * 28 + 1))
    assert [t.kind for t in open_tasks(runtime)] == ["rebooking.call"]


def test_a_satisfaction_text_due_at_night_waits_for_8am_local(runtime: Runtime) -> None:
    evening = START + timedelta(hours=11, minutes=50)  # 20:50 in Chicago: due 21:20, after text hours
    apply(runtime, job(ev.JobCompleted, evening), now=evening)
    morning = START + timedelta(days=1) - timedelta(hours=1)  # Tuesday 08:00 in Chicago
    run_until(runtime, morning - timedelta(minutes=1))
    assert texts(runtime) == []
    run_until(runtime, morning)
    (text,) = texts(runtime)
    assert text.sent_at == morning


def test_a_step_promised_at_a_time_goes_then_even_when_the_weekly_cap_is_full(runtime: Runtime) -> None:
    # The day-2 review email is promised for day 2: a full weekly cap counts it but does not push it back a week
    # (tests/service/sequences/test_caps.py holds back the discretionary ones).
    runtime.settings = library_settings("messaging:\n  marketing_per_week: 1\n")
    apply(runtime, job(ev.PaymentCaptured, START))
    run_until(runtime, at(0.5))  # the review text (marketing) goes out at 09:30: the week's one touch
    run_until(runtime, at(24 * 2))

    (email,) = emails(runtime)
    assert email.sent_at == at(24 * 2)
    assert timeline(runtime, only_customer(runtime).id, "sequence.step_deferred") == []


def test_renewal_reminders_come_a_month_and_a_week_before_the_renewal_date(runtime: Runtime) -> None:
    apply(runtime, job(ev.JobCompleted, START, service="Annual furnace maintenance"))
    row = enrollment(runtime, "renewal_reminders")
    assert row.anchor_at.date().isoformat() == "2027-11-02"
    run_until(runtime, START + timedelta(days=365 - 30, hours=1))
    assert emails(runtime)[-1].subject == "Your maintenance visit is due November 2"
    run_until(runtime, START + timedelta(days=365 - 7, hours=1))
    assert "due November 2" in texts(runtime)[-1].body


def test_each_message_of_a_sequence_is_marked_marketing_or_transactional(runtime: Runtime) -> None:
    completed_and_rated(runtime, "5")
    run_until(runtime, at(49))
    categories = {row.purpose: row.category for row in rows(runtime, messages)}
    assert categories["satisfaction_check.ask"] == "transactional"
    assert categories["maintenance_plan_offer.offer_text"] == "marketing"
    assert categories["maintenance_plan_offer.offer_email"] == "marketing"


SEASONS = """
followup:
  booking_url: https://example.com/book
  seasons:
    - {name: cooling, match: 'air condition', months: [3, 4, 5]}
    - {name: heating, match: 'furnace', months: [1]}
"""


def test_a_seasonal_offer_waits_for_the_services_season_within_30_to_90_days(runtime: Runtime) -> None:
    runtime.settings = library_settings(SEASONS)
    apply(runtime, job(ev.JobCompleted, START, service="Furnace repair"))
    run_until(runtime, START + timedelta(days=59))
    assert [p for _, p in sent_purposes(runtime)] == ["satisfaction_check.ask"]

    season_opens = datetime(2027, 1, 1, 16, 0, tzinfo=UTC)  # 10:00 in Chicago on the season's first day
    run_until(runtime, season_opens)

    text = texts(runtime)[-1]
    assert "heating season" in text.body
    assert text.sent_at == season_opens


def test_a_season_that_starts_after_90_days_skips_the_offer(runtime: Runtime) -> None:
    runtime.settings = library_settings(SEASONS)
    apply(runtime, job(ev.JobCompleted, START, service="Air conditioning repair"))
    run_until(runtime, START + timedelta(days=120))
    assert [p for _, p in sent_purposes(runtime)] == ["satisfaction_check.ask"]
    (note,) = timeline(runtime, only_customer(runtime).id, "sequence.step_skipped")
    assert note.summary == "Skipped seasonal offer: offer (its season falls too late)"
    assert enrollment(runtime, "seasonal_offer").status == "completed"


def test_booking_again_skips_the_seasonal_offer(runtime: Runtime) -> None:
    runtime.settings = library_settings(SEASONS)
    apply(runtime, job(ev.JobCompleted, START, service="Furnace repair"))
    apply(runtime, job(ev.JobBooked, at(24 * 20), job_id="job_2", service="Furnace repair"), now=at(24 * 20))
    run_until(runtime, START + timedelta(days=61))
    row = enrollment(runtime, "seasonal_offer")
    assert (row.status, row.exit_reason) == ("exited", "booked again")
    assert all("season" not in t.body for t in texts(runtime))
