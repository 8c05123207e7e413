"""Queue each mapped change for the outside CRMs a shop uses (HubSpot, Salesforce, a signed webhook).

The built-in CRM is written by the handlers; this module, a reaction to each record change after the field mapping
and the deal move (bus.py), queues one outbox row per configured target in the same transaction. A row
carries the contact and every mapped field as they stand after the event, so delivering a customer's rows in order
(their ordering key is per target and customer) leaves the outside CRM as the built-in one is, and one target's
outage never holds back another target's writes or the customer's texts.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from fieldrelay.service.changes import RecordChanged
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.crm.targets import CRM_SYNC, CrmChange, CrmContact, CrmDeal, CrmNote, to_payload

# Fields the mapping keeps for fieldrelay's own use that an outside CRM has no column for.
_INTERNAL_FIELDS = frozenset({"service_history", "equipment", "line_items"})


def ordering_key(target: str, customer_id: str) -> str:
    """One target's writes for one customer go out oldest first; other targets and channels are not held back."""
    return f"{target}:customer:{customer_id}"


def on_change(ctx: HandlerContext, change: RecordChanged) -> None:
    """Queue what the change wrote (the field mapping's fields, the deal) for every configured target."""
    queue(
        ctx,
        event=change.event,
        customer_id=change.customer_id,
        occurred_at=change.occurred_at,
        record_id=change.record_id,
        changed=change.written,
        summary=change.summary,
    )


def queue(
    ctx: HandlerContext,
    *,
    event: str,
    customer_id: str,
    occurred_at: datetime,
    record_id: str | None,
    changed: Collection[str],
    summary: str,
) -> int:
    """Queue the change an applied event made for every configured target; return how many rows were queued.

    ``record_id`` is the job, estimate or lead the event was about: with the event name and time it makes the
    idempotency key, so a handler that runs twice queues once.
    """
    targets = ctx.settings.crm.targets
    if not targets:
        return 0
    change = _change(ctx, event, customer_id, occurred_at, record_id, changed, summary)
    queued = 0
    for target in targets:
        key = f"crm:{target}:{change.key}"
        payload = to_payload(change)
        payload["key"] = key
        queued += ctx.store.enqueue(
            idempotency_key=key,
            target=target,
            kind=CRM_SYNC,
            ordering_key=ordering_key(target, customer_id),
            customer_id=customer_id,
            message_id=None,
            payload=payload,
        )
    return queued


def _change(
    ctx: HandlerContext,
    event: str,
    customer_id: str,
    occurred_at: datetime,
    record_id: str | None,
    changed: Collection[str],
    summary: str,
) -> CrmChange:
    store = ctx.store
    identity = store.identities_of([customer_id])[0]
    contact = CrmContact(
        fieldrelay_id=customer_id,
        first_name=identity.first_name,
        last_name=identity.last_name,
        email=identity.emails[0] if identity.emails else None,
        phone=identity.phones[0] if identity.phones else None,
        street=identity.street,
        city=identity.city,
        state=identity.state,
        postal_code=identity.postal_code,
    )
    fields = {name: held.value for name, held in store.fields_of(customer_id).items() if name not in _INTERNAL_FIELDS}
    deal = store.latest_deal(customer_id)
    crm_deal = None
    if deal is not None:
        stage = ctx.settings.pipeline.stage(deal.stage)
        crm_deal = CrmDeal(
            fieldrelay_id=deal.id,
            stage=deal.stage,
            stage_name=stage.name if stage is not None else deal.stage,
            is_open=deal.is_open,
            value_cents=deal.value_cents,
        )
    key = f"{customer_id}:{event}:{record_id or '-'}:{occurred_at.isoformat()}"
    return CrmChange(
        key=key,
        account_id=ctx.settings.account_id,
        event=event,
        occurred_at=occurred_at,
        contact=contact,
        fields=fields,
        changed=tuple(sorted(name for name in changed if name not in _INTERNAL_FIELDS)),
        deal=crm_deal,
        note=CrmNote(at=occurred_at, summary=summary),
    )
