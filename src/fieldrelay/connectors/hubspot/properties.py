"""fieldrelay's contact, deal and field values as HubSpot object properties (every value a string).

HubSpot's CRM v3 objects API takes and returns every property value as a string
(https://developers.hubspot.com/docs/api-reference/latest/crm/properties/guide, "Property values"): numbers as
decimal text, checkboxes as ``"true"``/``"false"``, multiple checkboxes as values joined with ``;`` (as in the
vendor's batch-update response example, ``"chocolate;strawberry"``), dates and datetimes as ISO 8601 or epoch
milliseconds.

Our choices (not vendor contract): datetimes and dates go as ISO 8601 (timezone-aware datetimes as given; HubSpot
stores them in UTC); ints (money in cents included) as plain integers; lists, tuples and sets as their items joined
with ``;``; dicts as compact JSON with sorted keys. A mapped field fieldrelay holds as None was cleared there and is
sent as ``""``, which clears the property at HubSpot (a field the mapping says never to clear, or one fieldrelay
never wrote, is not in the change at all). A contact detail fieldrelay does not know (None) is left out: an unknown
phone should not wipe one staff typed into HubSpot.

Consent goes to the properties ``hubspot.properties`` names for ``sms_opted_out`` and ``email_opted_out`` (as
``"true"``/``"false"``), and only then: HubSpot has no standard contact property fieldrelay could write for it. A
record merged into another is written as its ``fieldrelay_id`` and the survivor's id in ``fieldrelay_merged_into``
(or the name ``hubspot.properties`` gives ``merged_into``), nothing else, so its old email cannot collide with the
survivor's; an undone merge sends ``""`` there.

A mapped field ``f`` is written to the contact property ``fieldrelay_<f>`` (lower case, anything outside
``[a-z0-9_]`` turned into ``_``, as HubSpot internal names allow) unless ``HubSpotSettings.properties`` names
another; the shop creates these custom properties in HubSpot first, or the upsert is refused with a
``VALIDATION_ERROR`` (``PROPERTY_DOESNT_EXIST``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fieldrelay.service.crm.targets import CONSENT_FIELDS, MERGED_INTO, UNMERGED, CrmChange, CrmContact, CrmDeal

FIELD_PREFIX = "fieldrelay_"
FIELDRELAY_ID = "fieldrelay_id"  # contact property: unique custom property holding fieldrelay's customer id
DEAL_ID = "fieldrelay_deal_id"  # deal property: unique custom property holding fieldrelay's deal id
_NOT_NAME = re.compile(r"[^a-z0-9_]")


def property_name(field: str, overrides: Mapping[str, str]) -> str:
    """The HubSpot contact property a fieldrelay field is written to."""
    if field in overrides:
        return overrides[field]
    return FIELD_PREFIX + _NOT_NAME.sub("_", field.lower())


def to_property_value(value: Any) -> str | None:
    """One value as HubSpot's property string, or None when it should not be sent."""
    if value is None:
        return None
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = [to_property_value(item) for item in value]
        kept = [item for item in items if item is not None]
        return ";".join(sorted(kept) if isinstance(value, set | frozenset) else kept)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def contact_properties(change: CrmChange, overrides: Mapping[str, str]) -> dict[str, str]:
    """The contact's standard properties (unknown ones left out), consent where named, every mapped field (a cleared
    one as ``""``); for a merged record only its id and the merge mark."""
    contact = change.contact
    if contact.merged_into is not None:
        return {FIELDRELAY_ID: contact.fieldrelay_id, property_name(MERGED_INTO, overrides): contact.merged_into}
    standard: dict[str, Any] = {
        "firstname": contact.first_name,
        "lastname": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "address": contact.street,
        "city": contact.city,
        "state": contact.state,
        "zip": contact.postal_code,
        FIELDRELAY_ID: contact.fieldrelay_id,
    }
    properties = {name: value for name, value in standard.items() if value is not None}
    for consent in CONSENT_FIELDS:
        if consent in overrides:
            properties[overrides[consent]] = getattr(contact, consent)
    if change.event == UNMERGED:
        properties[property_name(MERGED_INTO, overrides)] = ""
    for field, value in change.fields.items():
        converted = to_property_value(value)
        properties[property_name(field, overrides)] = "" if converted is None else converted
    return {name: to_property_value(value) or "" for name, value in properties.items()}


def contact_identity(contact: CrmContact) -> tuple[str, str]:
    """``(idProperty, value)`` the contact is upserted by: always fieldrelay_id.

    Not the email: a customer's primary email changes, and an upsert by the new one would create a second contact.
    A contact staff created with the same email is found through the conflict HubSpot answers (target.py).
    """
    return FIELDRELAY_ID, contact.fieldrelay_id


def deal_name(contact: CrmContact) -> str:
    """The deal's name at HubSpot: the customer's name (or email, or id) and the source."""
    who = " ".join(part for part in (contact.first_name, contact.last_name) if part) or contact.email
    return f"{who or contact.fieldrelay_id} \N{EN DASH} fieldrelay"


def deal_properties(contact: CrmContact, deal: CrmDeal, pipeline_id: str, stage_id: str) -> dict[str, str]:
    """The deal's properties: name, pipeline and stage ids, amount in currency units (cents / 100)."""
    properties = {"dealname": deal_name(contact), "pipeline": pipeline_id, "dealstage": stage_id}
    if deal.value_cents is not None:
        properties["amount"] = str(Decimal(deal.value_cents).scaleb(-2))  # 123450 → "1234.50"
    return properties
