"""Closing a task by hand: every kind closes with an outcome of its family, on the timeline, and its deal or its
sequence enrolment follows; unknown, ambiguous, closed and wrong outcomes are refused with the reason."""

from __future__ import annotations

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.tasks import closing
from fieldrelay.service.tasks.closing import AmbiguousTask, OutcomeRefused, TaskClosed, UnknownTask
from fieldrelay.storage.tables import timers
from tests.service.handoff.support import act, aware, shop_time
from tests.service.sequences.support import at, enrollment, job, run_until
from tests.service.support import apply, count, sim_clock, timeline
from tests.service.tasks.support import (
    SITUATIONS,
    add_task,
    closed_as,
    customer_id,
    first_response,
    plan_offer_call,
    rebooking_call,
    service_recovery,
    task_row,
    tasks_settings,
)


@pytest.fixture
def settings() -> Settings:
    """The task test shop."""
    return tasks_settings()


@pytest.mark.parametrize("name", sorted(SITUATIONS))
def test_every_kind_has_an_owner_and_closes_with_its_outcome(runtime: Runtime, name: str) -> None:
    situation = SITUATIONS[name](runtime)
    row = task_row(runtime, situation.task_id)
    assert (row.assignee, row.status) == (situation.owner, "open") and row.due_at is not None

    closed = act(runtime, lambda ctx: closing.complete(ctx, situation.task_id[:8], situation.outcome, "Spoke", "Al"))

    assert closed.outcome.name == situation.outcome and closed.effects
    closed_as(runtime, situation, by="Al")
    situation.check(runtime, situation)


def test_a_wrong_outcome_or_no_note_is_refused_and_the_task_stays_open(runtime: Runtime) -> None:
    situation = first_response(runtime)
    allowed = r"'plan_booked' is not an outcome of a sop\.first_response task \(one of: reached, left_message, no_an"
    with pytest.raises(OutcomeRefused, match=allowed):
        act(runtime, lambda ctx: closing.complete(ctx, situation.task_id, "plan_booked", "Booked"))
    with pytest.raises(OutcomeRefused, match="say what happened"):
        act(runtime, lambda ctx: closing.complete(ctx, situation.task_id, "reached", "  "))
    assert task_row(runtime, situation.task_id).status == "open"
    assert situation.its_deal(runtime).first_response_at is None


def test_an_unknown_an_ambiguous_and_a_closed_task_are_refused(runtime: Runtime) -> None:
    situation = first_response(runtime)
    for task_id in ("abcd1111-0000-4000-8000-000000000000", "abcd2222-0000-4000-8000-000000000000"):
        add_task(runtime, task_id, customer_id(runtime), "service_recovery.call", "operations", f"test:{task_id}")

    with pytest.raises(UnknownTask, match="no task 'ffff9'"):
        act(runtime, lambda ctx: closing.find(ctx, "ffff9"))
    with pytest.raises(AmbiguousTask, match=r"'abcd' matches more than one task: abcd1111 \(service_recovery\.call\)"):
        act(runtime, lambda ctx: closing.find(ctx, "abcd"))
    assert act(runtime, lambda ctx: closing.find(ctx, "abcd2")).id.startswith("abcd2222")
    assert act(runtime, lambda ctx: closing.find(ctx, situation.task_id)).id == situation.task_id

    act(runtime, lambda ctx: closing.complete(ctx, situation.task_id, "reached", "Booked for Tuesday"))
    with pytest.raises(TaskClosed, match=f"task {situation.task_id[:8]} is already done"):
        act(runtime, lambda ctx: closing.complete(ctx, situation.task_id, "reached", "Again"))


def test_a_first_response_closed_by_hand_is_the_leads_response_at_that_moment(runtime: Runtime) -> None:
    situation = first_response(runtime)
    sim_clock(runtime).advance_to(shop_time(2, 10, 3))

    act(runtime, lambda ctx: closing.complete(ctx, situation.task_id, "left_message", "Voicemail", "Carla"))

    assert aware(situation.its_deal(runtime).first_response_at) == shop_time(2, 10, 3)
    (logged,) = timeline(runtime, customer_id(runtime), "followup.logged")
    assert logged.summary == "First response: call the customer back — left a message by Carla: Voicemail"


def test_a_plan_offer_call_that_reaches_an_undecided_customer_leaves_the_rest_of_the_offer(runtime: Runtime) -> None:
    situation = plan_offer_call(runtime)
    act(runtime, lambda ctx: closing.complete(ctx, situation.task_id, "reached", "Thinking it over"))
    assert enrollment(runtime, "maintenance_plan_offer").status == "active"  # the nudge at 120 hours still stands

    run_until(runtime, at(121))

    row = enrollment(runtime, "maintenance_plan_offer")
    assert (row.status, row.exit_reason, row.last_step) == ("completed", None, "nudge")


def test_a_declined_plan_offer_exits_at_once_and_cancels_the_nudge(runtime: Runtime) -> None:
    situation = plan_offer_call(runtime)
    act(runtime, lambda ctx: closing.complete(ctx, situation.task_id, "declined", "Not this year"))

    row = enrollment(runtime, "maintenance_plan_offer")
    assert (row.status, row.exit_reason) == ("exited", "personal call: declined the plan")
    assert [a.summary for a in timeline(runtime, customer_id(runtime), "sequence.exited")] == [
        "Left maintenance plan offer: personal call: declined the plan"
    ]
    assert count(runtime, timers, timers.c.key.startswith(f"seq:{row.id}:"), timers.c.status == "pending") == 0


def test_a_service_recovery_call_without_an_answer_still_ends_it_having_nothing_left(runtime: Runtime) -> None:
    situation = service_recovery(runtime)
    act(runtime, lambda ctx: closing.complete(ctx, situation.task_id, "no_answer", "Rang twice"))
    row = enrollment(runtime, "service_recovery")
    assert (row.status, row.exit_reason) == ("completed", "call: no answer")


def test_an_enrolment_that_ends_while_its_call_is_open_cancels_the_call(runtime: Runtime) -> None:
    situation = rebooking_call(runtime)
    apply(runtime, job(ev.JobBooked, runtime.clock.now(), job_id="job_2"))

    row = task_row(runtime, situation.task_id)
    assert (row.status, row.closed_by, row.note) == ("cancelled", "fieldrelay", "booked again")
    assert enrollment(runtime, "rebooking").exit_reason == "booked again"
    (cancelled,) = timeline(runtime, customer_id(runtime), "task.cancelled")
    assert cancelled.summary == "Task cancelled: Call about the open estimate (rebooking ended: booked again)"
    with pytest.raises(TaskClosed, match="already cancelled"):
        act(runtime, lambda ctx: closing.complete(ctx, situation.task_id, "booked", "Booked"))
