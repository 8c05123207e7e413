"""Lead handoff, stages 2 to 4 and reassignment: qualification, the field outcome, estimate follow-ups, assign."""

from __future__ import annotations

from datetime import date

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff import first_response as handoff
from fieldrelay.service.handoff import stages
from fieldrelay.service.handoff.first_response import HandoffRefused
from tests.service.handoff.support import (
    act,
    aware,
    customer,
    deal,
    estimate_at,
    handoff_settings,
    lead_at,
    shop_time,
    sop_tasks,
)
from tests.service.sequences.support import run_until
from tests.service.support import HCP, apply, sim_clock, timeline


@pytest.fixture
def settings() -> Settings:
    """The handoff test shop."""
    return handoff_settings()


def qualify(runtime: Runtime, deal_id: str, zip_code: str = "78701", job: str = "Water heater", when: str = "Tue AM"):
    """The dispatcher qualifying the lead now."""
    act(
        runtime,
        lambda ctx: stages.qualify(ctx, deal_id, zip_code=zip_code, job_type=job, requested_for=when, by="Dan"),
    )


def test_qualification_needs_zip_job_type_and_time(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    with pytest.raises(HandoffRefused, match="cannot qualify without: job type, requested time"):
        qualify(runtime, deal_id, job="", when=" ")
    assert deal(runtime, deal_id).stage == "new_lead"


def test_qualification_refuses_a_zip_outside_the_service_area(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    with pytest.raises(HandoffRefused, match="ZIP 90210 is outside the service area"):
        qualify(runtime, deal_id, zip_code="90210")
    assert deal(runtime, deal_id).service_zip is None


def test_qualifying_records_the_answers_hands_to_dispatch_and_stops_the_first_response_clock(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    sim_clock(runtime).advance_to(shop_time(2, 10, 3))
    qualify(runtime, deal_id)

    row = deal(runtime, deal_id)
    assert (row.stage, row.owner, row.service_zip, row.job_type, row.requested_for) == (
        "qualified",
        "Dan",
        "78701",
        "Water heater",
        "Tue AM",
    )
    assert aware(row.first_response_at) == shop_time(2, 10, 3)
    assert [t.status for t in sop_tasks(runtime, deal_id)] == ["done"]
    assert row.next_action is None
    (moved,) = [a for a in timeline(runtime, row.customer_id, "deal.stage") if "Qualified" in a.summary]
    assert "qualified by Dan: Water heater in 78701, wants Tue AM" in moved.summary


def test_no_decision_without_a_follow_up_date_is_refused(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    with pytest.raises(HandoffRefused, match="no_decision needs a follow-up date"):
        act(runtime, lambda ctx: stages.record_outcome(ctx, deal_id, "no_decision"))
    with pytest.raises(HandoffRefused, match="exactly one of"):
        act(runtime, lambda ctx: stages.record_outcome(ctx, deal_id, "estimate_sent,work_approved"))


def test_no_decision_with_a_date_puts_a_call_on_sales_list_that_morning(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    act(runtime, lambda ctx: stages.record_outcome(ctx, deal_id, "no_decision", follow_up_on=date(2026, 11, 10)))
    row = deal(runtime, deal_id)
    assert (row.stage, row.owner) == ("no_decision", "Sam")
    (call,) = sop_tasks(runtime, deal_id, "open")
    assert (call.kind, call.assignee, aware(call.due_at)) == ("sop.decision_followup", "Sam", shop_time(10, 8))


def test_an_estimate_sent_at_2_59_pm_is_followed_up_the_same_day(runtime: Runtime) -> None:
    lead_at(runtime, shop_time(2, 9))
    estimate_at(runtime, shop_time(2, 14, 59))
    deal_id = deal_id_only(runtime)
    dues = [(t.kind, t.assignee, aware(t.due_at)) for t in sop_tasks(runtime, deal_id, "open")]
    assert [t.kind for t in sop_tasks(runtime, deal_id, "done")] == ["sop.first_response"], "the estimate answered it"
    assert aware(deal(runtime, deal_id).first_response_at) == shop_time(2, 14, 59)
    assert dues == [
        ("sop.followup.1", "Sam", shop_time(2, 17)),
        ("sop.followup.2", "Sam", shop_time(4, 14, 59)),
        ("sop.followup.3", "Sam", shop_time(9, 8)),
    ]
    assert sop_tasks(runtime, deal_id, "open")[-1].title == "Day 5: ask for a decision / offer to adjust scope"
    assert deal(runtime, deal_id).owner == "Sam"


def test_an_estimate_sent_at_3_01_pm_is_followed_up_next_business_morning(runtime: Runtime) -> None:
    estimate_at(runtime, shop_time(6, 15, 1))  # a Friday
    followups = [t for t in sop_tasks(runtime, deal_id_only(runtime)) if t.kind.startswith("sop.followup")]
    assert aware(followups[0].due_at) == shop_time(9, 8)


def test_the_estimate_sent_outcome_plans_the_same_follow_ups(runtime: Runtime) -> None:
    deal_id = lead_at(runtime, shop_time(2, 9))
    sim_clock(runtime).advance_to(shop_time(2, 16))
    act(runtime, lambda ctx: stages.record_outcome(ctx, deal_id, "estimate_sent", by="Tech Tom"))
    kinds = [(t.kind, aware(t.due_at)) for t in sop_tasks(runtime, deal_id, "open") if "followup" in t.kind]
    assert kinds[0] == ("sop.followup.1", shop_time(3, 8))
    assert [a.summary for a in timeline(runtime, deal(runtime, deal_id).customer_id, "estimate.sent")] == [
        "Estimate sent by Tech Tom"
    ]


def test_logging_a_follow_up_closes_the_earliest_one_and_lands_on_the_timeline(runtime: Runtime) -> None:
    estimate_at(runtime, shop_time(2, 10))
    deal_id = deal_id_only(runtime)
    sim_clock(runtime).advance_to(shop_time(2, 16))
    act(runtime, lambda ctx: stages.log_followup(ctx, deal_id, "call", "Wants to think it over", "Sam"))
    done = [t.kind for t in sop_tasks(runtime, deal_id, "done")]
    assert done == ["sop.followup.1"]
    row = deal(runtime, deal_id)
    assert row.next_action == "Follow up on the estimate (48 hours)"
    (logged,) = timeline(runtime, row.customer_id, "followup.logged")
    assert logged.summary == "Call by Sam: Wants to think it over"


def test_reassigning_moves_the_deal_and_its_open_tasks_on_the_spot(runtime: Runtime) -> None:
    runtime.new_worker("team")  # syncs the configured team
    act(runtime, lambda ctx: handoff.add_member(ctx, "Rosa", "sales", reports_to="Olga"))
    estimate_at(runtime, shop_time(2, 10))
    deal_id = deal_id_only(runtime)
    act(runtime, lambda ctx: stages.log_followup(ctx, deal_id, "text", "Sent photos", "Sam"))

    moved = act(runtime, lambda ctx: stages.assign(ctx, deal_id, "Rosa", by="Olga"))
    assert moved == 2
    assert deal(runtime, deal_id).owner == "Rosa"
    assert {t.assignee for t in sop_tasks(runtime, deal_id, "open")} == {"Rosa"}
    assert [t.assignee for t in sop_tasks(runtime, deal_id, "done")] == ["Sam"], "closed work keeps its doer"


def test_assigning_to_someone_not_on_the_team_is_refused(runtime: Runtime) -> None:
    runtime.new_worker("team")
    deal_id = lead_at(runtime, shop_time(2, 10))
    with pytest.raises(HandoffRefused, match="'Zed' is not on the team \\(team: Carla, Dan, Olga, Sam\\)"):
        act(runtime, lambda ctx: stages.assign(ctx, deal_id, "Zed"))
    assert deal(runtime, deal_id).owner == "Carla"


def deal_id_only(runtime: Runtime) -> str:
    """The one deal of the test."""
    from tests.service.handoff.support import deal_id_of

    return deal_id_of(runtime)


def test_a_text_the_system_sends_about_the_estimate_logs_itself_as_a_follow_up(runtime: Runtime) -> None:
    estimate_at(runtime, shop_time(2, 10))
    deal_id = deal_id_only(runtime)
    customer_id = deal(runtime, deal_id).customer_id

    def queue_text(purpose: str) -> None:
        def write(ctx: HandlerContext) -> None:
            message_id = ctx.store.insert_message(
                {
                    "customer_id": customer_id,
                    "channel": "sms",
                    "purpose": purpose,
                    "category": "marketing",
                    "to_address": "+15125550142",
                    "body": "Still thinking about the estimate?",
                    "status": "queued",
                    "scheduled_for": ctx.now,
                }
            )
            ctx.store.enqueue(
                idempotency_key=f"sms:{message_id}",
                target="sms",
                kind="sms",
                ordering_key=f"customer:{customer_id}",
                customer_id=customer_id,
                message_id=message_id,
                payload={"to": "+15125550142", "body": "Still thinking about the estimate?", "category": "marketing"},
            )

        act(runtime, write)

    queue_text("confirmation_text")
    run_until(runtime, shop_time(2, 11))
    assert sop_tasks(runtime, deal_id, "done") == [], "an appointment text is no follow-up"

    queue_text("rebooking.text")
    run_until(runtime, shop_time(2, 12))
    assert [t.kind for t in sop_tasks(runtime, deal_id, "done")] == ["sop.followup.1"]
    (logged,) = timeline(runtime, customer_id, "followup.logged")
    assert logged.summary == "Text (automatic, rebooking.text)"


@pytest.mark.parametrize(("decided", "outcome"), [(ev.EstimateAccepted, "approved"), (ev.EstimateDeclined, "declined")])
def test_an_estimate_decided_in_the_field_tool_answers_its_follow_ups(
    runtime: Runtime, decided: type[ev.EstimateEvent], outcome: str
) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    estimate_at(runtime, shop_time(2, 14))
    assert len(sop_tasks(runtime, deal_id, "open")) == 3

    sim_clock(runtime).advance_to(shop_time(3, 9))
    snapshot = customer()
    estimate = ev.EstimateSnapshot(external_id=f"est_{snapshot.external_id}", total_cents=640000)
    apply(runtime, decided(source=HCP, occurred_at=shop_time(3, 9), customer=snapshot, estimate=estimate))

    closed = [t for t in sop_tasks(runtime, deal_id) if t.kind.startswith("sop.followup")]
    assert [(t.status, t.outcome, t.closed_by) for t in closed] == [("done", outcome, "fieldrelay")] * 3
    assert sop_tasks(runtime, deal_id, "open") == []
    (note,) = timeline(runtime, deal(runtime, deal_id).customer_id, "followup.closed")
    assert note.summary == f"Estimate follow-ups closed: the customer {outcome} the estimate (housecallpro)"
