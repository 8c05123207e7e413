"""Enrichment on intake: fill what a customer record is missing, offline, and record where each value came from.

The values come from the pure functions of domain/enrichment.py; ``fill_missing`` decides which may be written, so
a guess never replaces what a vendor said or a person typed. Every value written is stored in ``customer_fields``
with its source; the address and city columns of the customer keep their value, the field row says where from.
"""

from __future__ import annotations

from datetime import datetime

from fieldrelay.domain.enrichment import (
    Sourced,
    fill_missing,
    phone_facts,
    standardize_address,
    vendor_source,
    zip_facts,
)
from fieldrelay.domain.events import Address
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.records import StoredField

# Customer columns whose source is kept in customer_fields; enrichment may fill city and state.
SOURCED_COLUMNS = ("first_name", "last_name", "street", "unit", "city", "state", "postal_code", "lead_source")
_FILLABLE_COLUMNS = frozenset({"city", "state"})


def record_vendor_values(
    ctx: HandlerContext, customer_id: str, written: dict[str, object], source: str, at: datetime
) -> None:
    """Note that a vendor's event wrote these column values (the provenance of what the record now says)."""
    held = ctx.store.fields_of(customer_id)
    for name, value in written.items():
        if name in SOURCED_COLUMNS and value is not None:
            current = held.get(name)
            if current is None or current.value != value or current.source != vendor_source(source):
                ctx.store.write_field(customer_id, name, value, vendor_source(source), at)


def enrich(ctx: HandlerContext, customer_id: str, at: datetime) -> dict[str, Sourced]:
    """Fill the customer's missing facts from the ZIP code, the address and the first phone; return what was set."""
    store = ctx.store
    customer = store.get_customer(customer_id)
    held = store.fields_of(customer_id)
    current: dict[str, Sourced | None] = {name: _sourced(held.get(name)) for name in held}
    for name in ("city", "state", "street", "postal_code"):
        value = getattr(customer, name)
        if value and name not in held:
            # Written before provenance was kept: it came from a field tool, so it ranks as a vendor value.
            current[name] = Sourced(value, vendor_source("unknown"))
    proposals: dict[str, Sourced] = {}
    facts = zip_facts(customer.postal_code)
    if facts is not None:
        proposals.update(facts.sourced())
    if customer.street:
        address = Address(customer.street, customer.unit, customer.city, customer.state, customer.postal_code)
        proposals.update(standardize_address(address).sourced())
    phones = store.phones_of(customer_id)
    if phones:
        proposals.update(phone_facts(phones[0]).sourced())
    accepted = fill_missing(current, proposals)
    columns = {name: value.value for name, value in accepted.items() if name in _FILLABLE_COLUMNS}
    if columns:
        store.update_customer(customer_id, columns)
    for name, value in accepted.items():
        store.write_field(customer_id, name, value.value, value.source, at)
    return accepted


def _sourced(stored: StoredField | None) -> Sourced | None:
    if stored is None:
        return None
    value = stored.value
    return Sourced(value if isinstance(value, str | int | bool) or value is None else str(value), stored.source)
