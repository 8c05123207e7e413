"""Lead handoff, stages 2 to 4 and reassignment: qualification (dispatcher), the field outcome, the estimate follow-ups
(sales) and their logging, and moving a deal with its open tasks to another person.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from fieldrelay.domain.handoff_time import followup_dues
from fieldrelay.service.changes import EstimateChanged, TextSent
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff.first_response import (
    ACK_PURPOSE,
    HandoffRefused,
    close_tasks,
    open_task,
    record_response,
    refresh_next_action,
    require_deal,
    shop_hours,
    stage_owner,
)
from fieldrelay.service.handoff.ports import HandoffDeal
from fieldrelay.service.outreach import job_texts, texts
from fieldrelay.service.team import Owner

Outcome = Literal["estimate_sent", "work_approved", "no_decision"]
OUTCOMES: tuple[Outcome, ...] = ("estimate_sent", "work_approved", "no_decision")
FOLLOWUP = "sop.followup"  # task kinds sop.followup.1 … 3
DECISION_FOLLOWUP = "sop.decision_followup"
QUALIFIED = "qualified"
# Texts about something else (an appointment, a payment, a review, the lead's own acknowledgement) are no follow-up.
_NOT_FOLLOWUPS = frozenset({ACK_PURPOSE, texts.REVIEW_REQUEST, job_texts.MOVED, *job_texts.TEXTS})
_FOLLOWUP_TITLES = (
    "Follow up on the estimate (same day)",
    "Follow up on the estimate (48 hours)",
    "Day 5: ask for a decision / offer to adjust scope",
)


def _who(by: str | None) -> str:
    return f" by {by}" if by else ""


def _move(ctx: HandlerContext, deal: HandoffDeal, stage_id: str, reason: str) -> Owner:
    """Put the deal at ``stage_id`` now, owned by that stage's owner; the move and owner go on the timeline."""
    pipeline = ctx.settings.pipeline
    target = pipeline.stage(stage_id)
    if target is None:
        raise HandoffRefused(f"the pipeline has no stage {stage_id!r}")
    if not deal.is_open:
        raise HandoffRefused(f"the deal is closed ({deal.stage})")
    owner = stage_owner(ctx.settings, stage_id)
    current = pipeline.stage(deal.stage)
    ctx.store.update_deal(
        deal.id, {"stage": target.id, "stage_at": ctx.now, "is_open": target.kind not in ("won", "lost")}
    )
    if deal.owner != owner.label:
        ctx.store.update_deal(deal.id, {"owner": owner.label})
    before = current.name if current else deal.stage
    summary = f"Deal moved from {before} to {target.name}: {reason}; owner {owner.label}"
    ctx.store.add_activity(deal.customer_id, ctx.now, "deal.stage", summary, "fieldrelay", True)
    return owner


def qualify(
    ctx: HandlerContext, deal_id: str, *, zip_code: str, job_type: str, requested_for: str, by: str | None = None
) -> None:
    """Stage 2: move a new lead to Qualified once ZIP (inside the service area), job type and timing are known."""
    deal = require_deal(ctx, deal_id)
    missing = [
        name
        for name, value in (("ZIP code", zip_code), ("job type", job_type), ("requested time", requested_for))
        if not value.strip()
    ]
    if missing:
        raise HandoffRefused(f"cannot qualify without: {', '.join(missing)}")
    zip_code = zip_code.strip()
    served = ctx.settings.sop.service_zips
    if served and zip_code not in served:
        raise HandoffRefused(f"ZIP {zip_code} is outside the service area ({', '.join(served)})")
    pipeline = ctx.settings.pipeline
    if deal.stage != QUALIFIED and pipeline.rank(deal.stage) > pipeline.rank(QUALIFIED):
        raise HandoffRefused(f"the deal is already past qualification ({deal.stage})")
    values = {"service_zip": zip_code, "job_type": job_type.strip(), "requested_for": requested_for.strip()}
    ctx.store.update_deal(deal.id, values)
    record_response(ctx, deal, ctx.now)
    reason = f"qualified{_who(by)}: {values['job_type']} in {zip_code}, wants {values['requested_for']}"
    if deal.stage != QUALIFIED:
        _move(ctx, deal, QUALIFIED, reason)
    else:
        ctx.store.add_activity(deal.customer_id, ctx.now, "deal.qualified", reason, "fieldrelay", True)


def record_outcome(
    ctx: HandlerContext, deal_id: str, outcome: str, *, follow_up_on: date | None = None, by: str | None = None
) -> None:
    """Stage 3: the field's one outcome of the visit; no decision needs the date the customer is to be called."""
    if outcome not in OUTCOMES:
        raise HandoffRefused(f"outcome must be exactly one of {', '.join(OUTCOMES)}, not {outcome!r}")
    if outcome == "no_decision" and follow_up_on is None:
        raise HandoffRefused("no_decision needs a follow-up date (--follow-up-on YYYY-MM-DD)")
    deal = require_deal(ctx, deal_id)
    record_response(ctx, deal, ctx.now)  # the field has seen the customer: the lead is answered
    owner = _move(ctx, deal, outcome, f"field outcome{_who(by)}")
    deal = require_deal(ctx, deal_id)
    if outcome == "estimate_sent":
        ctx.store.add_activity(deal.customer_id, ctx.now, "estimate.sent", f"Estimate sent{_who(by)}", "sop", True)
        plan_followups(ctx, deal, ctx.now)
    elif outcome == "no_decision":
        assert follow_up_on is not None
        shop = shop_hours(ctx.settings)
        opens = min((w[0] for w in shop.hours.values()), default=time(9, 0))
        window = shop.window(follow_up_on)
        moment = datetime.combine(follow_up_on, window[0] if window else opens, tzinfo=shop.zone)
        open_task(
            ctx,
            deal,
            kind=DECISION_FOLLOWUP,
            title=f"Call for a decision (asked to follow up on {follow_up_on.isoformat()})",
            owner=owner,
            due=shop.next_opening(moment.astimezone(ctx.now.tzinfo)),
            source=f"sop:decision:{deal.id}:{follow_up_on.isoformat()}",
        )
    else:
        close_tasks(ctx, deal.id, FOLLOWUP)


def record_declined(ctx: HandlerContext, deal_id: str, by: str | None = None) -> None:
    """The customer said no to the estimate: the deal moves to the pipeline's lost stage and its open tasks close."""
    deal = require_deal(ctx, deal_id)
    record_response(ctx, deal, ctx.now)
    _move(ctx, deal, ctx.settings.pipeline.of_kind("lost").id, f"the customer declined{_who(by)}")
    close_tasks(ctx, deal.id, "sop.")


_DECIDED = {"estimate.accepted": ("approved", "approved"), "estimate.declined": ("declined", "declined")}


def on_decided(ctx: HandlerContext, change: EstimateChanged) -> None:
    """The customer decided in the field tool (estimate approved or declined): its follow-ups are answered.

    Runs before the deal moves on (an estimate declined closes the deal), so the deal's open tasks can still be found.
    """
    decided = _DECIDED.get(change.event)
    found = ctx.store.open_deal(change.customer_id) if decided else None
    if decided is None or found is None:
        return
    outcome, verb = decided
    note = f"the customer {verb} the estimate ({change.source})"
    closed = 0
    for kind in (FOLLOWUP, DECISION_FOLLOWUP):
        for task in ctx.store.open_deal_tasks(found.id, kind):
            values = {
                "status": "done",
                "closed_at": ctx.now,
                "outcome": outcome,
                "closed_by": "fieldrelay",
                "note": note,
            }
            ctx.store.update_task(task.id, values)
            closed += 1
    if closed:
        refresh_next_action(ctx, found.id)
        summary = f"Estimate follow-ups closed: {note}"
        ctx.store.add_activity(change.customer_id, change.occurred_at, "followup.closed", summary, "sop", True)


def on_estimate(ctx: HandlerContext, change: EstimateChanged) -> None:
    """Stage 4 from the field tool: an estimate sent puts the deal's three follow-ups on the sales owner's list."""
    if change.event != "estimate.sent":
        return
    found, sent_at = ctx.store.open_deal(change.customer_id), change.occurred_at
    if found is None or found.stage != ctx.settings.pipeline.moves.get("estimate.sent"):
        return
    deal = require_deal(ctx, found.id)
    owner = stage_owner(ctx.settings, deal.stage)
    if deal.owner != owner.label:
        ctx.store.update_deal(deal.id, {"owner": owner.label})
    if deal.lead_at is not None:
        record_response(ctx, deal, sent_at)  # someone has priced the job with the customer: the lead is answered
    plan_followups(ctx, deal, sent_at)


def plan_followups(ctx: HandlerContext, deal: HandoffDeal, sent_at: datetime) -> None:
    """The three follow-up tasks of an estimate (once per deal: a revised estimate keeps the plan it has)."""
    owner = stage_owner(ctx.settings, "estimate_sent")
    dues = followup_dues(sent_at, shop_hours(ctx.settings), ctx.settings.sop.followup_cutoff)
    for number, (due, title) in enumerate(zip(dues, _FOLLOWUP_TITLES, strict=True), start=1):
        open_task(
            ctx,
            deal,
            kind=f"{FOLLOWUP}.{number}",
            title=title,
            owner=owner,
            due=max(due, ctx.now),
            source=f"sop:followup:{deal.id}:{number}",
        )


def log_followup(
    ctx: HandlerContext, deal_id: str, channel: Literal["call", "text"], note: str, by: str | None = None
) -> None:
    """A call or text to the customer: on the timeline; it answers the lead and closes the soonest open follow-up."""
    deal = require_deal(ctx, deal_id)
    if not note.strip():
        raise HandoffRefused("say what was discussed (--note)")
    summary = f"{'Call' if channel == 'call' else 'Text'}{_who(by)}: {note.strip()[:500]}"
    ctx.store.add_activity(deal.customer_id, ctx.now, "followup.logged", summary, "sop", True)
    record_response(ctx, deal, ctx.now)
    if not close_tasks(ctx, deal.id, FOLLOWUP, first_only=True):
        close_tasks(ctx, deal.id, DECISION_FOLLOWUP, first_only=True)


def on_text_sent(ctx: HandlerContext, change: TextSent) -> None:
    """A text the system sent while an estimate waits on the customer counts as a follow-up, logged as one."""
    customer_id, purpose, at = change.customer_id, change.purpose, change.occurred_at
    found = ctx.store.open_deal(customer_id)
    if found is None or found.stage not in ("estimate_sent", "no_decision") or purpose in _NOT_FOLLOWUPS:
        return
    if not ctx.store.open_deal_tasks(found.id, FOLLOWUP):
        return
    label = purpose.replace("_", " ")
    ctx.store.add_activity(customer_id, at, "followup.logged", f"Text (automatic, {label})", "sop", True)
    close_tasks(ctx, found.id, FOLLOWUP, first_only=True)


def assign(ctx: HandlerContext, deal_id: str, to: str, by: str | None = None) -> int:
    """Hand the deal and its open tasks to a team member now; how many tasks moved."""
    member = ctx.store.team_member(to)
    if member is None or not member.active:
        names = ", ".join(m.name for m in ctx.store.team_members() if m.active) or "nobody yet"
        raise HandoffRefused(f"{to!r} is not on the team (team: {names})")
    deal = require_deal(ctx, deal_id)
    open_tasks = ctx.store.open_deal_tasks(deal.id)
    for task in open_tasks:
        ctx.store.update_task(task.id, {"assignee": member.name})
    ctx.store.update_deal(deal.id, {"owner": member.name})
    refresh_next_action(ctx, deal.id)
    moved = f"{len(open_tasks)} open task{'s' if len(open_tasks) != 1 else ''}"
    summary = f"Deal assigned to {member.name}{_who(by)} (was {deal.owner or 'unassigned'}; {moved} moved)"
    ctx.store.add_activity(deal.customer_id, ctx.now, "deal.assigned", summary, "sop", True)
    return len(open_tasks)
