"""Enrichment on intake: fill what a customer record is missing, offline, and record where each value came from.

The values come from the pure functions of domain/enrichment/fill.py; ``fill_missing`` decides which may be written, so
a guess never replaces what a vendor said or a person typed. Every value written is stored in ``customer_fields``
with its source; the address and city columns of the customer keep their value, the field row says where from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from fieldrelay.domain.enrichment.fill import (
    Sourced,
    fill_missing,
    phone_facts,
    standardize_address,
    vendor_source,
    zip_facts,
)
from fieldrelay.domain.events import Address
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.records import CustomerRecord, FieldWrite, StoredField

# Customer columns whose source is kept in customer_fields; enrichment may fill city and state.
SOURCED_COLUMNS = ("first_name", "last_name", "street", "unit", "city", "state", "postal_code")
_FILLABLE_COLUMNS = frozenset({"city", "state"})


def record_and_enrich(
    ctx: HandlerContext,
    customer_id: str,
    at: datetime,
    said: Mapping[str, Sourced],
    written: tuple[CustomerRecord, Sequence[str]] | None = None,
) -> dict[str, Sourced]:
    """Keep where the values an event wrote came from (``said``), then fill what the customer still lacks.

    The ZIP code, the address and the first phone are read; ``fill_missing`` decides what may be written. One read
    of the customer's fields and one batched write. ``written``: the customer and phones as just written (a new
    record), saving their reads. Returns the enriched values written.
    """
    store = ctx.store
    customer, phones = written or (store.get_customer(customer_id), store.phones_of(customer_id))
    held = store.fields_of(customer_id)
    writes: dict[str, FieldWrite] = {}
    for name, value in said.items():
        known = held.get(name)
        if value.value is not None and (known is None or (known.value, known.source) != (value.value, value.source)):
            writes[name] = FieldWrite(value.value, value.source, at)
    current: dict[str, Sourced | None] = {name: _sourced(known) for name, known in held.items()}
    current.update({name: said[name] for name in writes})
    for name in ("city", "state", "street", "postal_code"):
        value = getattr(customer, name)
        if value and name not in current:
            # Written before provenance was kept: it came from a field tool, so it ranks as a vendor value.
            current[name] = Sourced(value, vendor_source("unknown"))
    proposals: dict[str, Sourced] = {}
    facts = zip_facts(customer.postal_code)
    if facts is not None:
        proposals.update(facts.sourced())
    if customer.street:
        address = Address(customer.street, customer.unit, customer.city, customer.state, customer.postal_code)
        proposals.update(standardize_address(address).sourced())
    if phones:
        proposals.update(phone_facts(phones[0]).sourced())
    accepted = fill_missing(current, proposals)
    columns = {name: value.value for name, value in accepted.items() if name in _FILLABLE_COLUMNS}
    if columns:
        store.update_customer(customer_id, columns)
    writes.update({name: FieldWrite(value.value, value.source, at) for name, value in accepted.items()})
    store.write_fields(customer_id, writes)
    return accepted


def _sourced(stored: StoredField | None) -> Sourced | None:
    if stored is None:
        return None
    value = stored.value
    return Sourced(value if isinstance(value, str | int | bool) or value is None else str(value), stored.source)
