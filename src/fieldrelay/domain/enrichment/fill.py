"""Enrichment: fill what a customer record is missing, offline, and record where every value came from.

When an event creates or touches a customer, the service proposes values from these pure functions and writes only
what ``fill_missing`` accepts, each value with its source:

- ``zip_facts``: city, state, IANA time zone from the ZIP code (``zipcodes`` package) — source ``zip:zipcodes``;
- ``split_one_line``: an address typed into one box split into street, unit, city, state and ZIP;
- ``standardize_address``: USPS Pub 28 address by usaddress-scourgify, a local clean-up where it cannot parse —
  source ``scourgify`` or ``fallback``; ``address_key`` for matching;
- ``phone_facts``: region and line type from phonenumbers — source ``phonenumbers``;
- ``normalize_lead_source``: the shop's canonical lead source — source ``rule:lead_source``;
- ``equipment_from_line_items``: equipment and warranty end dates by shop-editable rules — source ``rule:<name>``.

No function here makes a network call or raises on bad input. The ranking of sources lives in
``enrichment_provenance`` (``source_rank``); the parts live in ``enrichment_*`` modules and are re-exported here.
"""

from __future__ import annotations

from fieldrelay.domain.enrichment.contact import LEAD_SOURCES, PhoneFacts, normalize_lead_source, phone_facts
from fieldrelay.domain.enrichment.equipment import (
    DEFAULT_EQUIPMENT_RULES,
    Equipment,
    EquipmentRule,
    equipment_from_line_items,
)
from fieldrelay.domain.enrichment.places import (
    StandardAddress,
    ZipFacts,
    address_key,
    split_one_line,
    standardize_address,
    zip5,
    zip_facts,
)
from fieldrelay.domain.enrichment.provenance import (
    FALLBACK,
    LEAD_SOURCE_RULE,
    PERSON,
    PHONENUMBERS,
    SCOURGIFY,
    ZIP_SOURCE,
    FieldValue,
    Sourced,
    fill_missing,
    rule_source,
    source_rank,
    vendor_source,
)

__all__ = [
    "DEFAULT_EQUIPMENT_RULES",
    "FALLBACK",
    "LEAD_SOURCES",
    "LEAD_SOURCE_RULE",
    "PERSON",
    "PHONENUMBERS",
    "SCOURGIFY",
    "ZIP_SOURCE",
    "Equipment",
    "EquipmentRule",
    "FieldValue",
    "PhoneFacts",
    "Sourced",
    "StandardAddress",
    "ZipFacts",
    "address_key",
    "equipment_from_line_items",
    "fill_missing",
    "normalize_lead_source",
    "phone_facts",
    "rule_source",
    "source_rank",
    "split_one_line",
    "standardize_address",
    "vendor_source",
    "zip5",
    "zip_facts",
]
