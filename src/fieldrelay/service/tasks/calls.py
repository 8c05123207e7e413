"""Logging a call about a task: on the customer's timeline; for a lead's task it is the SOP's logged follow-up."""

from __future__ import annotations

from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff import stages
from fieldrelay.service.handoff.ports import TaskRecord
from fieldrelay.service.tasks.closing import OutcomeRefused, TaskClosed, find


def log_call(ctx: HandlerContext, ref: str, note: str, by: str | None = None) -> TaskRecord:
    """Log a call about an open task with a note.

    A task about a deal logs it as ``fieldrelay lead log --call`` does (the lead's response is recorded and the soonest
    follow-up closes); any other task keeps waiting for its outcome, the call noted on the timeline.
    """
    task = find(ctx, ref)
    if task.status != "open":
        raise TaskClosed(f"task {task.id[:8]} is already {task.status}")
    if not note.strip():
        raise OutcomeRefused("say what was said on the call (a note)")
    if task.deal_id is not None:
        stages.log_followup(ctx, task.deal_id, "call", note, by)
    else:
        who = f" by {by}" if by else ""
        summary = f"Call{who} ({task.title}): {note.strip()[:500]}"
        ctx.store.add_activity(task.customer_id, ctx.now, "call.logged", summary, "tasks", True)
    return task
