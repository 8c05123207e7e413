"""Customer handler: find or create the customer an event is about, and keep their details current."""

from __future__ import annotations

from datetime import datetime

from fieldrelay.domain import events as ev
from fieldrelay.domain.contact import display_name, normalize_country, normalize_email, normalize_phone
from fieldrelay.domain.enrichment.fill import (
    LEAD_SOURCE_RULE,
    PERSON,
    Sourced,
    normalize_lead_source,
    split_one_line,
    vendor_source,
)
from fieldrelay.domain.lifecycle import lifecycle_stage
from fieldrelay.service.changes import ContactChanged
from fieldrelay.service.context import ConcurrentChange, HandlerContext, Unattachable
from fieldrelay.service.crm import enrichment as enrich
from fieldrelay.service.identity import resolve as identity
from fieldrelay.service.records import CustomerRecord, IdentityRecord


def resolve(ctx: HandlerContext, snapshot: ev.CustomerSnapshot, occurred_at: datetime, source: str) -> str:
    """The mirror id of the customer in ``snapshot``: by vendor id, else a new record matched by identity rules.

    A known customer's contact details are merged in: phones and emails are added; names, address and lead source
    are written only when the event is not older than the last change applied, and never over what a person
    typed. A new record is indexed and, when it clearly is someone already known, merged into them (service/
    identity.py). Either way the record is enriched where something it is matched or enriched on changed.
    """
    store = ctx.store
    region = ctx.settings.default_phone_region
    phones = [p for p in (normalize_phone(raw, region) for raw in snapshot.phones) if p]
    emails = [e for e in (normalize_email(raw) for raw in snapshot.emails) if e]

    # An empty vendor id names nobody: looking it up would merge every id-less record of this source into one.
    has_id = bool(snapshot.external_id.strip())
    record = store.customer_by_external(source, snapshot.external_id) if has_id else None
    details = _details(snapshot)
    if record is None:
        customer_id = store.insert_customer({**details, "lifecycle_stage": "lead", "source_updated_at": occurred_at})
        store.add_activity(customer_id, occurred_at, "customer.created", "Customer record created", source, True)
        if has_id and not store.link_external(source, "customer", snapshot.external_id, customer_id):
            raise ConcurrentChange(f"customer {snapshot.external_id} was linked by another worker at the same moment")
        add_contact_points(ctx, customer_id, phones, emails, seen_at=occurred_at)
        # Enriched before it is matched: a city from the ZIP code is one more thing to match on. Merged into someone
        # known, the merge fills only what the survivor lacked: a form's "Dan" or "apt. 305" does not overwrite
        # what the shop's field tool holds, and the first lead source stays.
        written = _as_written(customer_id, details, occurred_at)
        unique_phones = list(dict.fromkeys(phones))
        filled = enrich.record_and_enrich(
            ctx, customer_id, occurred_at, _said(details, snapshot, source), (written, unique_phones)
        )
        placed = identity.place(ctx, _identity(written, filled, unique_phones, emails), source)
        if placed != customer_id:
            refresh_stage(ctx, placed)  # another record of the person may have been merged in with its jobs
        return placed

    customer_id = record.id
    changes: dict[str, object] = {}
    if record.source_updated_at is None or occurred_at >= record.source_updated_at:
        typed = {name for name, held in store.fields_of(customer_id).items() if held.source == PERSON}
        changes = {k: v for k, v in details.items() if v is not None and k not in typed}
        store.update_customer(customer_id, {**changes, "source_updated_at": occurred_at})
    added = add_contact_points(ctx, customer_id, phones, emails, seen_at=occurred_at)
    if added or any(getattr(record, k, None) != v for k, v in changes.items() if k in _MATCHED_ON):
        enrich.record_and_enrich(ctx, customer_id, occurred_at, _said(changes, snapshot, source))
        identity.index(ctx, customer_id)
    return customer_id


# Columns the identity keys and enrichment read: a change to one of them re-indexes and re-enriches the record.
_MATCHED_ON = frozenset({"first_name", "last_name", "street", "unit", "city", "state", "postal_code", "lead_source"})


def add_contact_points(
    ctx: HandlerContext,
    customer_id: str,
    phones: list[str],
    emails: list[str],
    *,
    seen_at: datetime | None = None,
    confirmed: bool = False,
) -> bool:
    """Add phones and emails, seen at ``seen_at`` (``confirmed``: by the customer or a person, which makes them the
    primary ones); True when any was new. A STOP recorded before a phone was known still holds."""
    added_phones, added_any = ctx.store.add_contact_points(customer_id, phones, emails, seen_at, confirmed)
    if any(ctx.store.is_opted_out("sms", phone) for phone in added_phones):
        ctx.store.update_customer(customer_id, {"sms_opted_out": True})
    return added_any


def _as_written(customer_id: str, details: dict[str, object], at: datetime) -> CustomerRecord:
    """A new customer as just inserted, without reading it back."""

    def text(name: str) -> str | None:
        value = details.get(name)
        return str(value) if value is not None else None

    return CustomerRecord(
        id=customer_id,
        first_name=text("first_name"),
        last_name=text("last_name"),
        street=text("street"),
        city=text("city"),
        state=text("state"),
        postal_code=text("postal_code"),
        lead_source=text("lead_source"),
        sms_opted_out=False,
        source_updated_at=at,
        unit=text("unit"),
    )


def _identity(
    written: CustomerRecord, filled: dict[str, Sourced], phones: list[str], emails: list[str]
) -> IdentityRecord:
    """What the matcher compares of a new customer: as written, with the city and state enrichment filled in."""

    def part(name: str, value: str | None) -> str | None:
        found = filled.get(name)
        return str(found.value) if value is None and found is not None else value

    return IdentityRecord(
        id=written.id,
        first_name=written.first_name,
        last_name=written.last_name,
        phones=tuple(phones),
        emails=tuple(dict.fromkeys(emails)),
        street=written.street,
        unit=written.unit,
        city=part("city", written.city),
        state=part("state", written.state),
        postal_code=written.postal_code,
        lead_source=written.lead_source,
    )


def _said(written: dict[str, object], snapshot: ev.CustomerSnapshot, source: str) -> dict[str, Sourced]:
    """Where the written column values came from; the lead source as normalised and as the vendor wrote it."""
    said = {
        name: Sourced(str(value), vendor_source(source))
        for name, value in written.items()
        if name in enrich.SOURCED_COLUMNS and value is not None
    }
    if written.get("lead_source") is not None and snapshot.lead_source:
        said["lead_source"] = Sourced(str(written["lead_source"]), LEAD_SOURCE_RULE)
        said["lead_source_raw"] = Sourced(snapshot.lead_source, vendor_source(source))
    return said


def for_event(ctx: HandlerContext, event: ev.FieldEvent, known_customer_id: str | None, what: str) -> str:
    """The customer an event is about: from its snapshot, else the one its record already belongs to."""
    if event.customer is not None:
        return resolve(ctx, event.customer, event.occurred_at, event.source)
    if known_customer_id is not None:
        return known_customer_id
    raise Unattachable(f"{what} names no customer and is not known yet")


def match(ctx: HandlerContext, phones: list[str], emails: list[str]) -> str | None:
    """The first customer holding one of these phones, else one of these emails (for events that create nobody)."""
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
    address = split_one_line(snapshot.address or ev.Address())
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
        # The shop's canonical word for where the customer came from; the vendor's own text is kept beside it.
        "lead_source": normalize_lead_source(snapshot.lead_source),
    }


def on_customer_event(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """customer.created / customer.updated: upsert the customer and note it on the timeline."""
    assert event.customer is not None  # connectors always attach the customer to customer events
    was_known = ctx.store.customer_by_external(event.source, event.customer.external_id) is not None
    customer_id = resolve(ctx, event.customer, event.occurred_at, event.source)
    updated = was_known or isinstance(event, ev.CustomerUpdated)
    name, summary = ("customer.updated", "Customer details updated") if updated else _CREATED
    if updated:
        ctx.store.add_activity(customer_id, event.occurred_at, name, summary, event.source, True)
    # The outside CRMs follow the details (crm.sync): a contact-only change reaches them too.
    ctx.publish(ContactChanged(customer_id, event.occurred_at, event=name, summary=summary))


_CREATED = ("customer.created", "Customer record created")


def refresh_stage(ctx: HandlerContext, customer_id: str) -> None:
    """Recompute the customer's lifecycle stage from their jobs and estimates."""
    statuses, has_estimate = ctx.store.stage_inputs(customer_id)
    ctx.store.update_customer(customer_id, {"lifecycle_stage": lifecycle_stage(statuses, has_estimate)})
