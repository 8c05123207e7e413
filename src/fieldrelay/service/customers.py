"""Customer handler: find or create the customer an event is about, and keep their details current."""

from __future__ import annotations

from datetime import datetime

from fieldrelay.domain import events as ev
from fieldrelay.domain.contact import display_name, normalize_country, normalize_email, normalize_phone
from fieldrelay.domain.lifecycle import lifecycle_stage
from fieldrelay.service.context import ConcurrentChange, HandlerContext, Unattachable


def resolve(ctx: HandlerContext, snapshot: ev.CustomerSnapshot, occurred_at: datetime, source: str) -> str:
    """The mirror id of the customer in ``snapshot``: by vendor id, then phone, then email; else a new one.

    Contact details are merged in: phones and emails are added; names, address and lead source are
    written only when the event is not older than the last change applied to the customer.
    """
    store = ctx.store
    region = ctx.settings.default_phone_region
    phones = [p for p in (normalize_phone(raw, region) for raw in snapshot.phones) if p]
    emails = [e for e in (normalize_email(raw) for raw in snapshot.emails) if e]

    # An empty vendor id names nobody: looking it up would merge every id-less record of this source into one.
    has_id = bool(snapshot.external_id.strip())
    record = store.customer_by_external(source, snapshot.external_id) if has_id else None
    customer_id = record.id if record else match(ctx, phones, emails)
    if customer_id is None:
        customer_id = store.insert_customer(
            {**_details(snapshot), "lifecycle_stage": "lead", "source_updated_at": occurred_at}
        )
        store.add_activity(customer_id, occurred_at, "customer.created", "Customer record created", source, True)
    else:
        current = store.get_customer(customer_id)
        if current.source_updated_at is None or occurred_at >= current.source_updated_at:
            changes = {k: v for k, v in _details(snapshot).items() if v is not None}
            store.update_customer(customer_id, {**changes, "source_updated_at": occurred_at})
    if has_id and record is None and not store.link_external(source, "customer", snapshot.external_id, customer_id):
        raise ConcurrentChange(f"customer {snapshot.external_id} was linked by another worker at the same moment")
    added = store.add_contact_points(customer_id, phones, emails)
    if any(store.is_opted_out("sms", phone) for phone in added):
        # A STOP recorded before this customer (or this phone) was known still holds on their record.
        store.update_customer(customer_id, {"sms_opted_out": True})
    return customer_id


def for_event(ctx: HandlerContext, event: ev.FieldEvent, known_customer_id: str | None, what: str) -> str:
    """The customer an event is about: from its snapshot, else the one its record already belongs to."""
    if event.customer is not None:
        return resolve(ctx, event.customer, event.occurred_at, event.source)
    if known_customer_id is not None:
        return known_customer_id
    raise Unattachable(f"{what} names no customer and is not known yet")


def match(ctx: HandlerContext, phones: list[str], emails: list[str]) -> str | None:
    """The first customer holding one of these phones, else one of these emails."""
    # A first, exact match only; scored identity resolution with a review queue comes with the mirror work.
    for phone in phones:
        found = ctx.store.customers_by_phone(phone)
        if found:
            return found[0]
    for email in emails:
        found = ctx.store.customers_by_email(email)
        if found:
            return found[0]
    return None


def _details(snapshot: ev.CustomerSnapshot) -> dict[str, object]:
    address = snapshot.address or ev.Address()
    return {
        "first_name": snapshot.first_name,
        "last_name": snapshot.last_name,
        "name": display_name(snapshot.first_name, snapshot.last_name),
        "street": address.street,
        "unit": address.unit,
        "city": address.city,
        "state": address.state,
        "postal_code": address.postal_code,
        "country": normalize_country(address.country),
        "lead_source": snapshot.lead_source,
    }


def on_customer_event(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """customer.created / customer.updated: upsert the customer and note it on the timeline."""
    assert event.customer is not None  # connectors always attach the customer to customer events
    was_known = ctx.store.customer_by_external(event.source, event.customer.external_id) is not None
    customer_id = resolve(ctx, event.customer, event.occurred_at, event.source)
    if was_known or isinstance(event, ev.CustomerUpdated):
        ctx.store.add_activity(
            customer_id, event.occurred_at, "customer.updated", "Customer details updated", event.source, True
        )


def refresh_stage(ctx: HandlerContext, customer_id: str) -> None:
    """Recompute the customer's lifecycle stage from their jobs and estimates."""
    statuses, has_estimate = ctx.store.stage_inputs(customer_id)
    ctx.store.update_customer(customer_id, {"lifecycle_stage": lifecycle_stage(statuses, has_estimate)})
