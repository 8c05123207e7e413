"""Closing a task by hand: found by the short id a person types, closed with an outcome of its family and a note,
written on the customer's timeline, and answered where it belongs (the deal's SOP, or the sequence that opened it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff import first_response, stages
from fieldrelay.service.handoff.ports import TaskRecord
from fieldrelay.service.sequences import enrolment
from fieldrelay.service.tasks.outcomes import Family, Outcome, family_of

SHORT = 8  # characters of a task id that lists print; any unique prefix is accepted
MATCHES_SHOWN = 10


class UnknownTask(LookupError):
    """No task has this id (or id prefix)."""


class AmbiguousTask(LookupError):
    """Several tasks start with the id prefix given; ``matches`` are some of them."""

    def __init__(self, prefix: str, matches: list[TaskRecord]) -> None:
        shown = ", ".join(f"{t.id[:SHORT]} ({t.kind})" for t in matches[:MATCHES_SHOWN])
        more = " …" if len(matches) > MATCHES_SHOWN else ""
        super().__init__(f"{prefix!r} matches more than one task: {shown}{more}; give more of the id")
        self.matches = matches


class TaskClosed(Exception):
    """The task is no longer open."""


class OutcomeRefused(ValueError):
    """An outcome the task's family does not have, or no note."""


@dataclass(frozen=True)
class Closed:
    """A task closed by hand, and what that set off."""

    task: TaskRecord
    family: Family
    outcome: Outcome
    effects: list[str] = field(default_factory=list)


def find(ctx: HandlerContext, ref: str) -> TaskRecord:
    """The task whose id is ``ref`` or starts with it (locked on PostgreSQL); UnknownTask or AmbiguousTask."""
    ref = ref.strip()
    if not ref:
        raise UnknownTask("give a task id (the short id `fieldrelay tasks list` prints)")
    found = ctx.store.tasks_with_id_prefix(ref, MATCHES_SHOWN + 1)
    chosen = next((t for t in found if t.id == ref), found[0] if len(found) == 1 else None)
    if not found:
        raise UnknownTask(f"no task {ref!r}")
    if chosen is None:
        raise AmbiguousTask(ref, found)
    locked = ctx.store.get_task(chosen.id)
    assert locked is not None  # found in this transaction a moment ago
    return locked


def complete(ctx: HandlerContext, ref: str, outcome: str, note: str, by: str | None = None) -> Closed:
    """Close an open task with an outcome of its family and a note; the deal's SOP or the enrolment follows."""
    task = find(ctx, ref)
    if task.status != "open":
        raise TaskClosed(f"task {task.id[:SHORT]} is already {task.status}")
    family = family_of(task.kind)
    chosen = family.outcome(outcome)
    if chosen is None:
        allowed = ", ".join(family.names)
        raise OutcomeRefused(f"{outcome!r} is not an outcome of a {task.kind} task (one of: {allowed})")
    if not note.strip():
        raise OutcomeRefused("say what happened (--note)")
    note = note.strip()[:2000]
    ctx.store.update_task(
        task.id, {"status": "done", "closed_at": ctx.now, "closed_by": by, "outcome": chosen.name, "note": note}
    )
    who = f" by {by}" if by else ""
    summary = f"{task.title} — {chosen.words}{who}: {note}"
    # A handoff call closed here is the follow-up `lead log` would have logged (the SOP's report counts those).
    kind = "followup.logged" if family.handoff else "task.done"
    ctx.store.add_activity(task.customer_id, ctx.now, kind, summary[:1000], "tasks", True)
    if family.handoff and task.deal_id is not None:
        effects = _answer_deal(ctx, task.deal_id, chosen, by)
    else:
        effects = _answer_enrolment(ctx, task, chosen)
    return Closed(task, family, chosen, effects)


def _answer_deal(ctx: HandlerContext, deal_id: str, outcome: Outcome, by: str | None) -> list[str]:
    """Keep the deal's SOP state as the matching `lead` command would leave it."""
    if outcome.name == "approved":
        stages.record_outcome(ctx, deal_id, "work_approved", by=by)
        effect = "the deal moved to work approved"
    elif outcome.name == "declined":
        stages.record_declined(ctx, deal_id, by=by)
        effect = "the deal is lost"
    else:
        deal = first_response.require_deal(ctx, deal_id)
        first_response.record_response(ctx, deal, ctx.now)
        effect = "the lead's response is recorded"
    first_response.refresh_next_action(ctx, deal_id)
    return [effect]


def _answer_enrolment(ctx: HandlerContext, task: TaskRecord, outcome: Outcome) -> list[str]:
    """End the enrolment that opened the task when the outcome answers it, or when it only waited for this task."""
    opened_by = enrolment.task_opened_by(task.source)
    if opened_by is None:
        return []
    enrollment_id, step = opened_by
    enrollment = ctx.store.get_enrollment(enrollment_id)
    if enrollment is None or enrollment.status != "active":
        return []
    reason = f"{step.replace('_', ' ')}: {outcome.words}"
    if outcome.ends is not None:
        status: str = outcome.ends
    elif enrolment.waits_on_task(ctx, enrollment) and not _still_open(ctx, enrollment.id):
        status = "completed"
    else:
        return []  # its later steps still run
    enrolment.finish(ctx, enrollment, status, reason)
    return [f"{enrollment.sequence.replace('_', ' ')} {status} ({reason})"]


def _still_open(ctx: HandlerContext, enrollment_id: str) -> bool:
    """True when another task of the same enrolment is open (it waits for that one too)."""
    return bool(ctx.store.open_tasks_from(enrolment.task_source(enrollment_id)))
