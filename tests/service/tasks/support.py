"""Helpers for the task tests: a shop with a team, the SOP and the sequence library, and one situation per task kind
(how to bring the task about, who owns it, an outcome to close it with, and what closing it must leave behind)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.handoff import stages
from fieldrelay.storage.sequences.tables import tasks
from fieldrelay.storage.tables import timers
from tests.conftest import START
from tests.service.handoff.support import HANDOFF_YAML, act, customer, deal, estimate_at, lead_at, shop_time
from tests.service.sequences.support import at, enrollment, job, reply, run_until
from tests.service.support import apply, in_store, only_customer, pat, rows, sim_clock, timeline

# The handoff shop (Carla office, Dan dispatcher, Sam sales, Olga operations; stage owners named) running the
# packaged sequence library too, so sequence tasks get their owners from the same team.
TASKS_YAML = HANDOFF_YAML.replace("sequences: {}\n", "")


def tasks_settings() -> Settings:
    """The task test shop."""
    return parse_settings(TASKS_YAML, "test.yaml")


@dataclass(frozen=True)
class Situation:
    """One open task of a kind, and what closing it with ``outcome`` must leave behind (``check``)."""

    kind: str
    task_id: str
    owner: str
    outcome: str
    check: Callable[[Runtime, Situation], None]
    deal_id: str | None = None

    def its_deal(self, runtime: Runtime) -> Any:
        """The deal row a handoff task belongs to."""
        assert self.deal_id is not None, f"a {self.kind} task belongs to no deal"
        return deal(runtime, self.deal_id)


def task_row(runtime: Runtime, task_id: str) -> Any:
    """One tasks row."""
    (row,) = rows(runtime, tasks, tasks.c.id == task_id)
    return row


def add_task(runtime: Runtime, task_id: str, customer_id: str, kind: str, role: str, source: str) -> None:
    """A task of ``kind`` titled "Call" for ``role``, due at START, put in place through the store."""
    values = {"id": task_id, "customer_id": customer_id, "kind": kind, "title": "Call", "role": role, "source": source}
    in_store(runtime, lambda store: store.insert_task({**values, "due_at": START}))


def open_task(runtime: Runtime, kind: str) -> Any:
    """The one open task of ``kind``."""
    (row,) = rows(runtime, tasks, tasks.c.kind == kind, tasks.c.status == "open")
    return row


def closed_as(runtime: Runtime, situation: Situation, by: str | None = None) -> Any:
    """The task, asserted done with the situation's outcome and its closing on the customer's timeline."""
    row = task_row(runtime, situation.task_id)
    assert (row.status, row.outcome, row.closed_by) == ("done", situation.outcome, by)
    assert row.closed_at is not None and row.note
    kind = "followup.logged" if situation.kind.startswith("sop.") else "task.done"
    assert any(row.title in a.summary and row.note in a.summary for a in timeline(runtime, row.customer_id, kind))
    return row


# --- the lead-handoff SOP's tasks -------------------------------------------------------------------------------


def _response_recorded(runtime: Runtime, situation: Situation) -> None:
    row = situation.its_deal(runtime)
    assert row.first_response_at is not None and row.stage == "new_lead"
    assert row.next_action is None  # nothing else is open


def first_response(runtime: Runtime) -> Situation:
    """A web lead on Monday 10:00: Carla owes the first response by 10:05."""
    deal_id = lead_at(runtime, shop_time(2, 10))
    task = open_task(runtime, "sop.first_response")
    return Situation(task.kind, task.id, "Carla", "reached", _response_recorded, deal_id)


def escalated(runtime: Runtime) -> Situation:
    """The same first response left undone: at 11:05 it is escalated to Olga, Carla's lead."""
    runtime.new_worker("team")  # the team into the database, where escalation looks up whom Carla reports to
    situation = first_response(runtime)
    run_until(runtime, shop_time(2, 11, 5))
    assert task_row(runtime, situation.task_id).escalated_to == "Olga"
    return Situation(situation.kind, situation.task_id, "Carla", "no_answer", _response_recorded, situation.deal_id)


def _estimate(runtime: Runtime) -> str:
    """A lead at 10:00 and its estimate at 11:00: three follow-ups for Sam; the deal id."""
    deal_id = lead_at(runtime, shop_time(2, 10))
    estimate_at(runtime, shop_time(2, 11))
    return deal_id


def _next_followup_is_next(runtime: Runtime, situation: Situation) -> None:
    row = situation.its_deal(runtime)
    assert row.stage == "estimate_sent" and row.first_response_at is not None
    assert row.next_action == task_row(runtime, open_task(runtime, "sop.followup.2").id).title


def followup_1(runtime: Runtime) -> Situation:
    """The same-day follow-up of Monday's estimate."""
    deal_id = _estimate(runtime)
    task = open_task(runtime, "sop.followup.1")
    return Situation(task.kind, task.id, "Sam", "reached", _next_followup_is_next, deal_id)


def _first_still_next(runtime: Runtime, situation: Situation) -> None:
    row = situation.its_deal(runtime)
    assert row.stage == "estimate_sent"
    assert row.next_action == task_row(runtime, open_task(runtime, "sop.followup.1").id).title  # still the soonest


def followup_2(runtime: Runtime) -> Situation:
    """The 48-hour follow-up (the same-day one still open)."""
    deal_id = _estimate(runtime)
    task = open_task(runtime, "sop.followup.2")
    return Situation(task.kind, task.id, "Sam", "left_message", _first_still_next, deal_id)


def _approved(runtime: Runtime, situation: Situation) -> None:
    row = situation.its_deal(runtime)
    assert (row.stage, row.owner, row.next_action) == ("work_approved", "Dan", None)
    assert rows(runtime, tasks, tasks.c.deal_id == situation.deal_id, tasks.c.status == "open") == []


def followup_3(runtime: Runtime) -> Situation:
    """The day-5 follow-up, answered with a yes."""
    deal_id = _estimate(runtime)
    task = open_task(runtime, "sop.followup.3")
    return Situation(task.kind, task.id, "Sam", "approved", _approved, deal_id)


def _lost(runtime: Runtime, situation: Situation) -> None:
    row = situation.its_deal(runtime)
    assert (row.stage, row.is_open, row.next_action) == ("lost", False, None)
    assert rows(runtime, tasks, tasks.c.deal_id == situation.deal_id, tasks.c.status == "open") == []


def decision_followup(runtime: Runtime) -> Situation:
    """A visit with no decision: Sam calls on Thursday for one, and hears no."""
    deal_id = lead_at(runtime, shop_time(2, 10))
    act(runtime, lambda ctx: stages.record_outcome(ctx, deal_id, "no_decision", follow_up_on=date(2026, 11, 5)))
    task = open_task(runtime, "sop.decision_followup")
    return Situation(task.kind, task.id, "Sam", "declined", _lost, deal_id)


# --- the sequences' call tasks ------------------------------------------------------------------------------------


def _rated(runtime: Runtime, rating: str) -> None:
    """A job completed at the start; the satisfaction text at 09:30, Pat's rating at 10:00."""
    apply(runtime, job(ev.JobCompleted, START))
    run_until(runtime, at(0.5))
    apply(runtime, reply(rating, at(1)), now=at(1))
    run_until(runtime, at(1))


def _ended(sequence: str, status: str, reason: str) -> Callable[[Runtime, Situation], None]:
    def check(runtime: Runtime, situation: Situation) -> None:
        row = enrollment(runtime, sequence)
        assert (row.status, row.exit_reason) == (status, reason)
        assert rows(runtime, timers, timers.c.key.startswith(f"seq:{row.id}:"), timers.c.status == "pending") == []

    return check


def service_recovery(runtime: Runtime) -> Situation:
    """A 2/5 rating: Olga (operations) calls within 4 hours; reaching Pat ends the service recovery."""
    _rated(runtime, "2")
    task = open_task(runtime, "service_recovery.call")
    assert enrollment(runtime, "service_recovery").status == "active"  # it waits for the call
    check = _ended("service_recovery", "completed", "call: reached the customer")
    return Situation(task.kind, task.id, "Olga", "reached", check)


def plan_offer_call(runtime: Runtime) -> Situation:
    """A 4/5 rating, the offer unanswered for 48 hours: Sam's personal call, which books the plan (no nudge)."""
    _rated(runtime, "4")
    run_until(runtime, at(96))
    task = open_task(runtime, "maintenance_plan_offer.personal_call")
    check = _ended("maintenance_plan_offer", "completed", "personal call: booked a maintenance plan")
    return Situation(task.kind, task.id, "Sam", "plan_booked", check)


def rebooking_call(runtime: Runtime) -> Situation:
    """An estimate left with no decision: a text, an email a week later, then Sam's call, where Pat declines."""
    apply(
        runtime,
        ev.EstimateSent(source="housecallpro", occurred_at=START, customer=pat(), estimate=ev.EstimateSnapshot("e1")),
    )
    for days in (14, 21, 28):
        run_until(runtime, at(24 * days + 1))
    task = open_task(runtime, "rebooking.call")
    check = _ended("rebooking", "exited", "call: declined the estimate")
    return Situation(task.kind, task.id, "Sam", "declined", check)


def two_customers(runtime: Runtime) -> None:
    """Pat's lead on Monday 10:00 and estimate at 11:00 (Sam's three follow-ups); Amy's lead at 12:00 (Carla's first
    response, escalated to Olga at 13:05)."""
    runtime.new_worker("team")
    lead_at(runtime, shop_time(2, 10))
    estimate_at(runtime, shop_time(2, 11))
    lead_at(runtime, shop_time(2, 12), customer("amy", "(512) 555-0100"))
    sim_clock(runtime).advance_to(shop_time(2, 13, 5))
    assert runtime.new_worker("escalations").drain(timeout_seconds=60)


SITUATIONS: dict[str, Callable[[Runtime], Situation]] = {
    "first_response": first_response,
    "escalated": escalated,
    "followup_1": followup_1,
    "followup_2": followup_2,
    "followup_3": followup_3,
    "decision_followup": decision_followup,
    "service_recovery": service_recovery,
    "plan_offer_call": plan_offer_call,
    "rebooking_call": rebooking_call,
}


def customer_id(runtime: Runtime) -> str:
    """The one customer of a situation."""
    return str(only_customer(runtime).id)
