"""Estimate handler: sent, accepted, declined."""

from __future__ import annotations

from fieldrelay.domain import events as ev
from fieldrelay.domain.lifecycle import estimate_status_for, estimate_supersedes
from fieldrelay.domain.money import dollars
from fieldrelay.service.changes import EstimateChanged
from fieldrelay.service.context import ConcurrentChange, HandlerContext
from fieldrelay.service.intake import customers

_SUMMARY = {"sent": "Estimate sent", "accepted": "Estimate accepted", "declined": "Estimate declined"}


def on_estimate_event(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """Apply an estimate event to the mirror."""
    assert isinstance(event, ev.EstimateEvent)
    store = ctx.store
    status = estimate_status_for(event)
    snap = event.estimate
    estimate = store.estimate_by_external(event.source, snap.external_id)
    known = estimate.customer_id if estimate else None
    customer_id = customers.for_event(ctx, event, known, f"estimate {snap.external_id}")
    number = f" #{snap.number}" if snap.number else ""
    total = f" ({dollars(snap.total_cents)})" if snap.total_cents is not None else ""
    summary = f"{_SUMMARY[status.value]}{number}{total}"
    details = {"number": snap.number, "total_cents": snap.total_cents}
    details = {k: v for k, v in details.items() if v is not None}
    if estimate is None:
        estimate_id = store.insert_estimate(
            {**details, "customer_id": customer_id, "status": status.value, "status_at": event.occurred_at}
        )
        if not store.link_external(event.source, "estimate", snap.external_id, estimate_id):
            raise ConcurrentChange(f"estimate {snap.external_id} was created by another worker")
    elif estimate_supersedes(event.occurred_at, estimate.status_at):
        estimate_id = estimate.id
        store.update_estimate(estimate_id, {**details, "status": status.value, "status_at": event.occurred_at})
    else:
        store.add_activity(
            customer_id,
            event.occurred_at,
            f"estimate.{status.value}",
            f"{summary} — not applied: a later change is already recorded",
            event.source,
            False,
        )
        return
    store.add_activity(customer_id, event.occurred_at, f"estimate.{status.value}", summary, event.source, True)
    customers.refresh_stage(ctx, customer_id)
    ctx.publish(
        EstimateChanged(
            customer_id,
            event.occurred_at,
            event=f"estimate.{status.value}",
            source=event.source,
            summary=summary,
            record_id=estimate_id,
            estimate=snap,
            value_cents=snap.total_cents,
        )
    )
