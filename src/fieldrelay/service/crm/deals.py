"""Deals along the configured pipeline (rules/pipeline.py): which event moves the customer's open deal where.

One open deal per customer. A lead, a booking or an estimate opens one when there is none; a payment with no open
deal records a won one (a walk-in job). Among open stages a deal only moves forward; won, lost and nurture can be
reached from any open stage; a deal in nurture or no-decision moves on with any later step. An older event never
moves a deal past a newer one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from fieldrelay.rules.pipeline import Stage
from fieldrelay.service.changes import EstimateChanged, RecordChanged, Triggered
from fieldrelay.service.context import HandlerContext

NO_DECISION = "deal_no_decision"
_CLOSED = frozenset({"won", "lost"})
_EXITS = frozenset({"won", "lost", "nurture"})


def on_change(ctx: HandlerContext, change: RecordChanged) -> None:
    """Move the customer's deal to the stage the change's event names in the pipeline."""
    move(
        ctx,
        change.customer_id,
        change.event,
        change.occurred_at,
        value_cents=change.value_cents,
        reason=change.reason,
    )


def on_estimate(ctx: HandlerContext, change: EstimateChanged) -> None:
    """A sent estimate gets its no-decision check."""
    if change.event == "estimate.sent" and change.record_id is not None:
        schedule_no_decision(ctx, change.customer_id, change.record_id, change.occurred_at)


def move(
    ctx: HandlerContext,
    customer_id: str,
    event: str,
    occurred_at: datetime,
    *,
    value_cents: int | None = None,
    reason: str | None = None,
) -> str | None:
    """Move the customer's deal for ``event``; return the deal id when a deal was opened or moved."""
    pipeline = ctx.settings.pipeline
    target_id = pipeline.moves.get(event)
    target = pipeline.stage(target_id) if target_id else None
    if target is None:
        return None
    store = ctx.store
    deal = store.open_deal(customer_id)
    if deal is None:
        if target.kind in ("nurture", "no_decision"):
            return None  # nothing open to park
        deal_id = store.insert_deal(
            {
                "customer_id": customer_id,
                "stage": target.id,
                "stage_at": occurred_at,
                "is_open": target.kind not in _CLOSED,
                "value_cents": value_cents,
                "reason": reason,
            }
        )
        _note(ctx, customer_id, occurred_at, f"Deal opened at {target.name}", reason)
        return deal_id
    if occurred_at < deal.stage_at:
        return None
    if deal.stage == target.id:
        # The same step again (a second booking, a revised estimate): the deal stands there as of the newer event,
        # so an older cancellation or an older estimate's no-decision check cannot move it past this one.
        store.update_deal(deal.id, {"stage_at": occurred_at})
        return None
    current = pipeline.stage(deal.stage)
    if not _may_move(ctx, current, target):
        return None
    # The reason belongs to the stage it explains: moving on from nurture clears the cancellation's reason.
    values: dict[str, object] = {
        "stage": target.id,
        "stage_at": occurred_at,
        "is_open": target.kind not in _CLOSED,
        "reason": reason,
    }
    if value_cents is not None:
        values["value_cents"] = value_cents
    store.update_deal(deal.id, values)
    before = current.name if current else deal.stage
    _note(ctx, customer_id, occurred_at, f"Deal moved from {before} to {target.name}", reason)
    return deal.id


def _may_move(ctx: HandlerContext, current: Stage | None, target: Stage) -> bool:
    """Forward among open stages; out to won, lost or nurture from anywhere; on from nurture or no-decision."""
    if current is None or target.kind in _EXITS or current.kind in ("nurture", "no_decision"):
        return True
    pipeline = ctx.settings.pipeline
    return pipeline.rank(target.id) > pipeline.rank(current.id)


def _note(ctx: HandlerContext, customer_id: str, at: datetime, summary: str, reason: str | None) -> None:
    text = f"{summary}: {reason}" if reason else summary
    ctx.store.add_activity(customer_id, at, "deal.stage", text, "fieldrelay", True)


def schedule_no_decision(ctx: HandlerContext, customer_id: str, estimate_id: str, sent_at: datetime) -> None:
    """Plan the check that moves a deal to no-decision when its estimate is still unanswered after the wait."""
    due = max(sent_at + timedelta(days=ctx.settings.pipeline.no_decision_after_days), ctx.now)
    key = f"{NO_DECISION}:{estimate_id}:{sent_at.isoformat()}"
    payload = {"estimate_id": estimate_id, "sent_at": sent_at.isoformat()}
    ctx.store.schedule_timer(key, NO_DECISION, due, customer_id, payload)


def fire_no_decision(ctx: HandlerContext, payload: Mapping[str, object]) -> None:
    """When due: an estimate still only sent moves the customer's deal from estimate-sent to no-decision.

    Only when this estimate is the deal's latest step: a revised estimate sent since has its own wait.
    """
    store = ctx.store
    estimate = store.get_estimate(str(payload["estimate_id"]))
    if estimate is None or estimate.status != "sent":
        return
    deal = store.open_deal(estimate.customer_id)
    pipeline = ctx.settings.pipeline
    sent_stage = pipeline.moves.get("estimate.sent")
    if deal is None or deal.stage != sent_stage or deal.stage_at > datetime.fromisoformat(str(payload["sent_at"])):
        return
    target = pipeline.of_kind("no_decision")
    store.update_deal(deal.id, {"stage": target.id, "stage_at": ctx.now})
    days = f"{pipeline.no_decision_after_days:g}"
    _note(
        ctx, estimate.customer_id, ctx.now, f"Deal moved to {target.name}", f"no answer to the estimate in {days} days"
    )
    ctx.publish(
        Triggered(estimate.customer_id, ctx.now, trigger="estimate.no_decision", subject_key=f"estimate:{estimate.id}")
    )
