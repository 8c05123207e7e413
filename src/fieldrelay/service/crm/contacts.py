"""A person edits a customer's contact details: the value they type is kept with ``person`` as its source, so
neither enrichment nor a later webhook overwrites it (domain/enrichment/provenance.py ranks a person highest)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fieldrelay.domain.contact import display_name, normalize_email, normalize_phone
from fieldrelay.domain.enrichment.provenance import PERSON
from fieldrelay.service.changes import ContactChanged
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.identity import resolve as identity
from fieldrelay.service.intake import customers
from fieldrelay.service.records import FieldWrite

# What a person may edit, by the form's group: the customer columns each group writes.
GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("first_name", "last_name"),
    "phone": ("phone",),
    "email": ("email",),
    "address": ("street", "unit", "city", "state", "postal_code"),
}
_LIMITS = {"first_name": 100, "last_name": 100, "street": 200, "unit": 50, "city": 100, "state": 50, "postal_code": 20}


class ContactRefused(ValueError):
    """The typed value cannot be kept (an invalid phone or email, an empty name)."""


@dataclass(frozen=True)
class Edited:
    """What changed: the values before and after, by column (``phone`` and ``email``: the one typed)."""

    before: dict[str, str | None]
    after: dict[str, str | None]


def edit(ctx: HandlerContext, customer_id: str, group: str, typed: Mapping[str, str], by: str) -> Edited:
    """Keep the person's values for one group (name, phone, email or address) and note it on the timeline.

    A phone or email is added to the customer's contact points as confirmed, which makes it the primary one (the old
    ones stay: messages already sent name them); names and address parts replace the columns. Every value is
    recorded as the person's in ``customer_fields``, which intake and enrichment both honour. The record is
    re-indexed for matching, and the outside CRMs follow (crm.sync).
    """
    if group not in GROUPS:
        raise ContactRefused(f"{group!r} is not a contact field")
    store = ctx.store
    record = store.get_customer(customer_id)
    held = store.fields_of(customer_id)
    values = {name: " ".join(typed.get(name, "").split()) or None for name in GROUPS[group]}
    for name, value in values.items():
        if value is not None and len(value) > _LIMITS.get(name, 254):
            raise ContactRefused(f"{name.replace('_', ' ')} is too long")
    before: dict[str, str | None]
    after: dict[str, str | None]
    if group in ("phone", "email"):
        before = {group: _str(held[group].value) if group in held else _first(ctx, customer_id, group)}
        after = {group: _contact_point(ctx, customer_id, group, values[group])}
    else:
        before = {name: getattr(record, name) for name in values}
        if group == "name" and not any(values.values()):
            raise ContactRefused("give a first or last name")
        after = values
        columns: dict[str, object] = dict(values)
        if group == "name":
            # The display name is a column of its own: kept as the person's too, or a webhook would rename them.
            columns["name"] = display_name(values["first_name"], values["last_name"])
        store.update_customer(customer_id, columns)
    writes = {name: FieldWrite(value, PERSON, ctx.now) for name, value in after.items()}
    if group == "name":
        writes["name"] = FieldWrite(display_name(after["first_name"], after["last_name"]), PERSON, ctx.now)
    store.write_fields(customer_id, writes)
    said = ", ".join(value for value in after.values() if value) or "(blank)"
    store.add_activity(customer_id, ctx.now, "customer.edited", f"{by} set the {group}: {said}", "fieldrelay", True)
    identity.index(ctx, customer_id)
    ctx.publish(ContactChanged(customer_id, ctx.now, event="customer.edited", summary=f"{by} set the {group}"))
    return Edited(before, after)


def _contact_point(ctx: HandlerContext, customer_id: str, group: str, value: str | None) -> str:
    """The typed phone (E.164) or email, added to the customer's contact points."""
    if group == "phone":
        phone = normalize_phone(value, ctx.settings.default_phone_region)
        if phone is None:
            raise ContactRefused(f"{value or 'an empty phone'} is not a phone number")
        customers.add_contact_points(ctx, customer_id, [phone], [], seen_at=ctx.now, confirmed=True)
        return phone
    email = normalize_email(value)
    if email is None or "@" not in email:
        raise ContactRefused(f"{value or 'an empty email'} is not an email address")
    customers.add_contact_points(ctx, customer_id, [], [email], seen_at=ctx.now, confirmed=True)
    return email


def _first(ctx: HandlerContext, customer_id: str, group: str) -> str | None:
    found = ctx.store.phones_of(customer_id) if group == "phone" else ctx.store.emails_of(customer_id)
    return found[0] if found else None


def _str(value: object) -> str | None:
    return None if value is None else str(value)
