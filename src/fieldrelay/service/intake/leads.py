"""Lead handler: a new enquiry becomes (or updates) a customer and lands on their timeline."""

from __future__ import annotations

from fieldrelay.domain import events as ev
from fieldrelay.service.changes import LeadArrived
from fieldrelay.service.context import HandlerContext, Unattachable
from fieldrelay.service.intake import customers


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
    ctx.publish(
        LeadArrived(
            customer_id,
            event.occurred_at,
            event="lead.received",
            source=event.source,
            summary=summary,
            record_id=event.lead_ref,
            lead=event,
        )
    )
