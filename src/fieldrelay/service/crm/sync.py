"""Queue each change for the outside CRMs a shop uses (HubSpot, Salesforce, a signed webhook), and say what it is now.

The built-in CRM is written by the handlers; this module, a reaction to each record and contact change (bus.py),
queues one outbox row per configured target in the same transaction. A row carries what changed and when, not the
customer's state: ``current`` reads the contact, the mapped fields and the deal from the record as it stands when the
row is delivered, first try or a retry of any age, so a retried old change never writes an older state over a newer
one. Delivering a customer's rows in order (their ordering key is per target and customer) keeps one target's outage
from holding back another target's writes or the customer's texts.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from fieldrelay.rules.config import Settings
from fieldrelay.service.changes import ContactChanged, RecordChanged
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.crm.targets import (
    CRM_SYNC,
    CrmChange,
    CrmContact,
    CrmDeal,
    CrmNote,
    QueuedChange,
    queued_payload,
)
from fieldrelay.service.ports import MirrorStore

# Fields the mapping keeps for fieldrelay's own use that an outside CRM has no column for.
_INTERNAL_FIELDS = frozenset({"service_history", "equipment", "line_items"})


def ordering_key(target: str, customer_id: str) -> str:
    """One target's writes for one customer go out oldest first; other targets and channels are not held back."""
    return f"{target}:customer:{customer_id}"


def on_change(ctx: HandlerContext, change: RecordChanged) -> None:
    """Queue what a job, estimate or lead change wrote (the field mapping's fields, the deal) for every target."""
    queue(
        ctx,
        event=change.event,
        customer_id=change.customer_id,
        occurred_at=change.occurred_at,
        record_id=change.record_id,
        changed=change.written,
        summary=change.summary,
    )


def on_contact(ctx: HandlerContext, change: ContactChanged) -> None:
    """Queue a change to the customer's details, a merge or its undo, or a consent change for every target."""
    queue(
        ctx,
        event=change.event,
        customer_id=change.customer_id,
        occurred_at=change.occurred_at,
        record_id=None,
        changed=(),
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
    key = f"{customer_id}:{event}:{record_id or '-'}:{occurred_at.isoformat()}"
    queued = 0
    for target in targets:
        row = QueuedChange(
            key=f"crm:{target}:{key}",
            account_id=ctx.settings.account_id,
            event=event,
            occurred_at=occurred_at,
            customer_id=customer_id,
            changed=tuple(sorted(name for name in changed if name not in _INTERNAL_FIELDS)),
            note=CrmNote(at=occurred_at, summary=summary) if summary else None,
        )
        queued += ctx.store.enqueue(
            idempotency_key=row.key,
            target=target,
            kind=CRM_SYNC,
            ordering_key=ordering_key(target, customer_id),
            customer_id=customer_id,
            message_id=None,
            payload=queued_payload(row),
        )
    return queued


def current(store: MirrorStore, settings: Settings, target: str, queued: QueuedChange) -> CrmChange:
    """The queued change with the customer as they stand now: primary contact details, consent, every mapped field
    (a cleared one as None unless the field mapping says never to clear it), the latest deal, and the sequence.

    A record merged into another is sent as merged (the target marks or deletes it); its fields and deal went to the
    survivor, whose own change carries them.
    """
    customer_id = queued.customer_id
    state = store.crm_contact(customer_id, ordering_key(target, customer_id))
    contact = CrmContact(
        fieldrelay_id=customer_id,
        first_name=state.first_name,
        last_name=state.last_name,
        email=state.email,
        phone=state.phone,
        street=state.street,
        city=state.city,
        state=state.state,
        postal_code=state.postal_code,
        merged_into=state.merged_into,
        sms_opted_out=state.sms_opted_out,
        email_opted_out=state.email_opted_out,
    )
    base = CrmChange(
        key=queued.key,
        account_id=queued.account_id,
        event=queued.event,
        occurred_at=queued.occurred_at,
        contact=contact,
        changed=queued.changed,
        note=queued.note,
        sequence=state.sequence,
    )
    if state.merged_into is not None:
        return replace(base, remove=settings.crm.on_merge == "delete")
    keep = settings.field_mapping.never_clear
    fields = {
        name: held.value
        for name, held in store.fields_of(customer_id).items()
        if name not in _INTERNAL_FIELDS and not (held.value in (None, "", []) and name in keep)
    }
    deal = store.latest_deal(customer_id)
    crm_deal = None
    if deal is not None:
        stage = settings.pipeline.stage(deal.stage)
        crm_deal = CrmDeal(
            fieldrelay_id=deal.id,
            stage=deal.stage,
            stage_name=stage.name if stage is not None else deal.stage,
            is_open=deal.is_open,
            value_cents=deal.value_cents,
        )
    return replace(base, fields=fields, deal=crm_deal)
