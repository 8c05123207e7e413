"""Lead handler: a new enquiry becomes (or updates) a customer and lands on their timeline."""

from __future__ import annotations

from fieldrelay.domain import events as ev
from fieldrelay.service.context import HandlerContext, Unattachable
from fieldrelay.service.crm import deals, mapping
from fieldrelay.service.crm import sync as crm_sync
from fieldrelay.service.handoff import first_response as handoff
from fieldrelay.service.intake import customers
from fieldrelay.service.referrals import program as referrals


def on_lead(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """Match the enquirer to an existing customer or create a lead, and record what they asked for."""
    assert isinstance(event, ev.LeadReceived)
    if event.customer is None:
        raise Unattachable(f"lead {event.lead_ref or '(no id)'} carries no contact details")
    customer_id = customers.resolve(ctx, event.customer, event.occurred_at, event.source)
    parts = [f"New lead via {event.channel or event.source}"]
    if event.service:
        parts.append(f"for {event.service}")
    summary = " ".join(parts)
    if event.referral_code:
        summary += f" (referral code {event.referral_code})"
    if event.notes:
        summary += f": {event.notes[:500]}"
    ctx.store.add_activity(customer_id, event.occurred_at, "lead.received", summary, event.source, True)
    referrals.on_lead(ctx, customer_id, event)
    applied = mapping.Applied("lead.received", customer_id, event.occurred_at, event.source, lead=event)
    written = mapping.apply(ctx, applied)
    deals.move(ctx, customer_id, "lead.received", event.occurred_at)
    handoff.on_lead(ctx, customer_id, event.occurred_at)  # every source lands here: one SOP clock for all
    crm_sync.queue(
        ctx,
        event="lead.received",
        customer_id=customer_id,
        occurred_at=event.occurred_at,
        record_id=event.lead_ref,
        changed=written,
        summary=summary,
    )
