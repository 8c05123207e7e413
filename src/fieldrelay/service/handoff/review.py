"""Lead handoff, stage 5 (operations): the daily open-loop review, the morning email that lists it, and the
escalation of a handoff task left overdue to its owner's lead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff.ports import OpenLoop
from fieldrelay.service.ops import daily_mail

REVIEW = "sop.review"  # the timer kind of the morning email
REVIEW_STAGES = ("estimate_sent", "no_decision")
LEAD_ROLE = "operations"  # whom a task escalates to when its owner has no lead of their own


@dataclass(frozen=True)
class ReviewItem:
    """One open loop and whether its next action is overdue."""

    loop: OpenLoop
    overdue: bool

    def as_json(self) -> dict[str, object]:
        """The API's form."""
        loop = self.loop
        return {
            "deal_id": loop.deal_id,
            "customer_id": loop.customer_id,
            "customer": loop.customer_name,
            "stage": loop.stage,
            "since": loop.stage_at.isoformat(),
            "owner": loop.owner,
            "next_action": loop.next_action,
            "due_at": loop.due_at.isoformat() if loop.due_at else None,
            "overdue": self.overdue,
        }


def today(ctx: HandlerContext) -> list[ReviewItem]:
    """Every open deal waiting on an estimate decision, the longest-waiting first, overdue ones flagged."""
    return [
        ReviewItem(loop, loop.due_at is not None and loop.due_at <= ctx.now)
        for loop in ctx.store.open_loops(REVIEW_STAGES)
    ]


def open_deals(ctx: HandlerContext) -> list[ReviewItem]:
    """Every open deal not yet won or lost (leads, qualified, scheduled, estimates), the longest-standing first."""
    stages = tuple(s.id for s in ctx.settings.pipeline.stages if s.kind in ("open", "no_decision"))
    return [
        ReviewItem(loop, loop.due_at is not None and loop.due_at <= ctx.now) for loop in ctx.store.open_loops(stages)
    ]


def fire_escalation(ctx: HandlerContext, payload: Mapping[str, object]) -> None:
    """An open handoff task still undone this long after its due time goes to its owner's lead, on the timeline."""
    store = ctx.store
    task = store.get_task(str(payload["task_id"]))
    if task is None or task.status != "open" or task.escalated_at is not None:
        return
    late = task.due_at + timedelta(minutes=ctx.settings.sop.escalate_after_minutes)
    if ctx.now < late:
        return  # fired early (a clock adjustment): a later worker pass re-plans nothing, so wait for the timer
    lead = _lead_of(ctx, task.assignee, task.deal_id)
    store.update_task(task.id, {"escalated_at": ctx.now, "escalated_to": lead})
    who = task.assignee or task.role
    minutes = int((ctx.now - task.due_at).total_seconds() // 60)
    summary = f"Escalated to {lead}: {task.title} ({who}, {minutes} min overdue)"
    store.add_activity(task.customer_id, ctx.now, "task.escalated", summary, "fieldrelay", True)


def _lead_of(ctx: HandlerContext, assignee: str | None, deal_id: str | None) -> str:
    """The owner's ``reports_to``; else the first operations member of the team; else the operations role."""
    store = ctx.store
    owner = assignee
    if owner is None and deal_id is not None:
        deal = store.handoff_deal(deal_id)
        owner = deal.owner if deal is not None else None
    member = store.team_member(owner) if owner else None
    if member is not None and member.reports_to:
        return member.reports_to
    operations = [m.name for m in store.team_members() if m.role == LEAD_ROLE and m.active and m.name != owner]
    return operations[0] if operations else LEAD_ROLE


def schedule_next(ctx: HandlerContext) -> bool:
    """Schedule the next morning email when ``sop.review_to`` is set; False when unset or already planned."""
    if not ctx.settings.sop.review_to:
        return False
    return daily_mail.schedule(ctx, REVIEW, ctx.now, ctx.settings.sop.review_at)


def fire_review(ctx: HandlerContext, payload: Mapping[str, object]) -> None:
    """Queue this morning's open-loop email (nothing open, no email) and plan tomorrow's."""
    schedule_next(ctx)
    to = ctx.settings.sop.review_to
    items = today(ctx)
    if not to or not items:
        return
    zone = ZoneInfo(ctx.settings.business.time_zone)
    overdue = sum(item.overdue for item in items)
    subject = f"Open estimates for {ctx.settings.business.name}: {len(items)} open, {overdue} overdue"
    daily_mail.queue(ctx, REVIEW, to, subject, body(items, zone))


def body(items: list[ReviewItem], zone: ZoneInfo) -> str:
    """The plain-text list, oldest first, one line per deal."""
    lines = ["Deals waiting on a decision, oldest first:", ""]
    for item in items:
        loop = item.loop
        due = f"{loop.due_at.astimezone(zone):%a %b %-d %-I:%M %p}" if loop.due_at else "no next action"
        flag = "OVERDUE " if item.overdue else ""
        lines.append(
            f"  {flag}{loop.customer_name} · {loop.stage} since {loop.stage_at.astimezone(zone):%b %-d} · "
            f"owner {loop.owner or 'unassigned'} · {loop.next_action or '—'} · due {due}"
        )
    lines += ["", "Reassign one: fieldrelay assign DEAL --to NAME", "Full list: fieldrelay review today"]
    return "\n".join(lines) + "\n"
