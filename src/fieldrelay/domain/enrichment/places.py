"""Offline place facts: city, state and time zone from a ZIP code; USPS Pub 28 addresses; an address match key.

No network call: ZIP facts come from the ``zipcodes`` package (the USPS list with IANA time zones, compiled into the
wheel), addresses are standardised by usaddress-scourgify (a CRF parser shipped with its model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import usaddress
import zipcodes
from scourgify import normalize_address_record
from scourgify.address_constants import (
    OCCUPANCY_TYPE_ABBREVIATIONS,
    STATE_ABBREVIATIONS,
    STREET_TYPE_ABBREVIATIONS,
)

from fieldrelay.domain.contact import normalize_country
from fieldrelay.domain.enrichment.provenance import FALLBACK, SCOURGIFY, ZIP_SOURCE, Sourced
from fieldrelay.domain.events import Address
from fieldrelay.domain.identity.keys import parse_street, postal_key

# "78701", "78701-1234", "787011234", "78701 1234"; ASCII digits only (``\d`` would take Arabic-Indic digits).
_ZIP = re.compile(r"([0-9]{5})(?:[- ]?([0-9]{4}))?")
# IANA names are Area/Location; the package's data has a few slips (ZIP 99634 has the time zone "Napakiak").
_IANA = re.compile(r"[A-Za-z]+(?:/[A-Za-z0-9_+-]+)+")


@dataclass(frozen=True)
class ZipFacts:
    """What the ZIP code alone tells: the USPS preferred city, the state, the county and the IANA time zone."""

    zip5: str
    city: str
    state: str
    time_zone: str | None  # None for military (APO/FPO) ZIPs and the odd bad entry
    county: str | None
    zip_type: str  # "STANDARD", "PO BOX", "UNIQUE" (one organisation) or "MILITARY"
    active: bool  # False for a retired ZIP: the city is still right for old records

    def sourced(self) -> dict[str, Sourced]:
        """city, state and time_zone as proposals for ``fill_missing`` (source ``zip:zipcodes``)."""
        found = {"city": self.city, "state": self.state, "time_zone": self.time_zone}
        return {name: Sourced(value, ZIP_SOURCE) for name, value in found.items() if value}


def zip5(postal_code: str | None) -> str | None:
    """The five-digit ZIP of a US ZIP or ZIP+4 ("78701-1234" -> "78701"), or None when it is not one."""
    if not postal_code:
        return None
    found = _ZIP.fullmatch(postal_code.strip())
    return found.group(1) if found else None


def zip_facts(postal_code: str | None) -> ZipFacts | None:
    """City, state and time zone of a US ZIP or ZIP+4; None for blank, malformed or unknown codes. Never raises."""
    code = zip5(postal_code)
    return _zip_lookup(code) if code else None


# zipcodes scans its whole table (~42,800 rows, in Rust) on every call: about 0.18 ms a lookup on the 2-core dev
# machine (timeit, median of 5 x 500 calls), plus ~0.24 s once per process when the first call loads the table; a
# cached hit costs ~0.4 us. A shop sees a few hundred ZIPs, so 4,096 entries keep every one of them.
@lru_cache(maxsize=4096)
def _zip_lookup(code: str) -> ZipFacts | None:
    try:
        rows = zipcodes.matching(code)
    except (TypeError, ValueError):  # the package's answer to a malformed code; _ZIP already rules those out
        return None
    if not rows:
        return None
    row = rows[0]
    time_zone = str(row.get("timezone") or "")
    return ZipFacts(
        zip5=code,
        city=str(row.get("city") or ""),
        state=str(row.get("state") or ""),
        time_zone=time_zone if _IANA.fullmatch(time_zone) else None,
        county=str(row.get("county") or "") or None,
        zip_type=str(row.get("zip_code_type") or ""),
        active=bool(row.get("active", True)),
    )


# --- addresses ----------------------------------------------------------------------------------------------------
# The USPS serves these as domestic addresses; anything else is not given to a US parser.
_USPS_COUNTRIES = frozenset({"US", "PR", "VI", "GU", "AS", "MP"})


@dataclass(frozen=True)
class StandardAddress:
    """An address in USPS Pub 28 form (upper case, standard abbreviations, unit on line 2)."""

    line1: str | None
    line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    source: str  # SCOURGIFY, or FALLBACK when only the local clean-up was applied

    def sourced(self) -> dict[str, Sourced]:
        """The standardised parts as proposals for ``fill_missing``, under ``address_*`` names."""
        parts = {
            "address_line1": self.line1,
            "address_line2": self.line2,
            "address_city": self.city,
            "address_state": self.state,
            "address_postal_code": self.postal_code,
        }
        return {name: Sourced(value, self.source) for name, value in parts.items() if value}


def standardize_address(address: Address) -> StandardAddress:
    """The address in USPS Pub 28 form by usaddress-scourgify; a conservative local clean-up where it cannot parse.

    Never raises. The local clean-up (source ``"fallback"``) upper-cases, collapses spaces, drops periods and
    abbreviates only a trailing street suffix and a unit designator, so it loses nothing the person wrote.
    Cost: ~0.1 ms a call through scourgify's CRF parser, ~0.26 ms when it gives up and the fallback runs (timeit,
    median of 5 x 500 calls); cheap enough per event, so not cached.
    """
    try:
        standard = _scourgify(address)
    except Exception:  # a third-party parser on arbitrary text; this function's contract is never to raise
        standard = None
    return standard or _fallback(address)


def _text(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _scourgify(address: Address) -> StandardAddress | None:
    street, unit = _text(address.street), _text(address.unit)
    city, state, postal = _text(address.city), _text(address.state), _text(address.postal_code)
    if not street:
        return None
    if _text(address.country) and normalize_country(address.country) not in _USPS_COUNTRIES:
        return None
    if postal and not zip5(postal):
        return None  # scourgify would zero-pad "7870" into another town's ZIP; keep the person's text instead
    if postal or (city and state):
        record = {"address_line_1": street, "address_line_2": unit, "city": city, "state": state, "postal_code": postal}
        result = normalize_address_record({k: v for k, v in record.items() if v}, strict=False)
    else:  # no locality: scourgify's record form refuses it, its string form parses the street line alone
        result = normalize_address_record(", ".join(part for part in (street, unit) if part))
    out = {key: _text(str(value)) if value is not None else None for key, value in dict(result).items()}
    line1 = out.get("address_line_1")
    if not line1:
        return None
    new_city = out.get("city") if not city else None
    new_state = out.get("state") if not state else None
    new_postal = out.get("postal_code") if not postal else None
    # A city, state or ZIP that the input did not have was read out of the street text. Believe that only for a
    # whole "city, ST 12345" tail; "123 Main St" with unit "Basement" otherwise comes back with the city BASEMENT.
    if (new_city or new_state or new_postal) and not (out.get("state") and out.get("postal_code")):
        return None
    return StandardAddress(
        line1=line1,
        line2=out.get("address_line_2"),
        city=out.get("city"),
        state=out.get("state"),
        postal_code=out.get("postal_code"),
        source=SCOURGIFY,
    )


# Designators the fallback splits off the end of a street line ("123 MAIN ST APT 4", "123 MAIN ST #4").
_TRAILING_UNIT = re.compile(
    r"(.*\S)\s+((?:APT|APARTMENT|UNIT|STE|SUITE|BLDG|BUILDING|FL|FLOOR|RM|ROOM|LOT|SPC|SPACE|TRLR|TRAILER)\s+\S+"
    r"|#\s*\S+)"
)


_INITIAL_DOT = re.compile(r"\b([A-Z])\.(?=[A-Z]\b)")  # "P.O." -> "PO.", "N.E." -> "NE."


def _clean(value: str | None) -> str | None:
    """Upper case, initials closed up ("P.O." -> "PO"), other periods and commas a space, whitespace collapsed."""
    if not value:
        return None
    cleaned = " ".join(_INITIAL_DOT.sub(r"\1", value.upper()).replace(".", " ").replace(",", " ").split())
    return cleaned or None


def _clean_unit(value: str | None) -> str | None:
    unit = _clean(value.replace("#", " # ") if value else None)
    if not unit:
        return None
    first, _, rest = unit.partition(" ")
    designator = OCCUPANCY_TYPE_ABBREVIATIONS.get(first, first)
    return f"{designator} {rest}" if rest else designator


def _fallback(address: Address) -> StandardAddress:
    line1, line2 = _clean(address.street), _clean_unit(address.unit)
    if line1 and not line2:
        found = _TRAILING_UNIT.fullmatch(line1)
        if found:
            line1, line2 = found.group(1), _clean_unit(found.group(2))
    if line1:
        words = line1.split()
        if len(words) >= 2 and words[-1] in STREET_TYPE_ABBREVIATIONS:
            line1 = " ".join([*words[:-1], STREET_TYPE_ABBREVIATIONS[words[-1]]])
    state = _clean(address.state)
    if state:
        state = STATE_ABBREVIATIONS.get(state, state)
    postal = _clean(address.postal_code)
    found_zip = _ZIP.fullmatch(postal) if postal else None
    if found_zip:
        postal = "-".join(part for part in found_zip.groups() if part)
    return StandardAddress(
        line1=line1, line2=line2, city=_clean(address.city), state=state, postal_code=postal, source=FALLBACK
    )


def address_key(address: Address | StandardAddress) -> str | None:
    """A match key ``"house number|street|unit|zip5"`` ("123|main st|4|78701"), or None without a number, street or ZIP.

    Built on the standardised address with identity matching's own normal forms, so "123 Main Street Apt 4" and
    "123 main st #4" give one key. The unit is its identifier alone (APT 4, # 4 and UNIT 4 are all "4"). No key
    without a ZIP: the same house number and street recur in every town.
    """
    standard = address if isinstance(address, StandardAddress) else standardize_address(address)
    number, street, unit = parse_street(standard.line1, standard.line2)
    code = zip5(postal_key(standard.postal_code))
    if not number or not street or not code:
        return None
    return f"{number}|{street}|{unit}|{code}"


# usaddress labels of a one-line address, by the Address part they belong to.
_STREET_LABELS = frozenset(
    {
        "AddressNumber",
        "AddressNumberPrefix",
        "AddressNumberSuffix",
        "StreetNamePreDirectional",
        "StreetNamePreModifier",
        "StreetNamePreType",
        "StreetName",
        "StreetNamePostType",
        "StreetNamePostDirectional",
        "StreetNamePostModifier",
    }
)
_UNIT_LABELS = frozenset({"OccupancyType", "OccupancyIdentifier", "SubaddressType", "SubaddressIdentifier"})
_PART_OF = {"PlaceName": "city", "StateName": "state", "ZipCode": "postal_code"}


def split_one_line(address: Address) -> Address:
    """An address typed into one box ("3763 Menchaca Road Unit 305, Austin, TX 78748") split into its parts.

    Only when the street holds more than a street (a comma, or a ZIP at its end) and no city, state or ZIP was given
    apart; the parts keep the words as typed (standardising is ``standardize_address``'s business). Anything
    usaddress cannot read as one street address comes back unchanged. Never raises.
    """
    street = address.street or ""
    if address.city or address.state or address.postal_code or not ("," in street or _ZIP.search(street[-10:])):
        return address
    try:
        tagged, kind = usaddress.tag(street)
    except usaddress.RepeatedLabelError:
        return address
    if kind != "Street Address" or "AddressNumber" not in tagged or "StreetName" not in tagged:
        return address
    parts: dict[str, list[str]] = {"street": [], "unit": [], "city": [], "state": [], "postal_code": []}
    for label, words in tagged.items():
        part = "street" if label in _STREET_LABELS else "unit" if label in _UNIT_LABELS else _PART_OF.get(label)
        if part is None:
            return address  # a recipient, a PO box, an intersection: not something to split with confidence
        parts[part].append(words.strip(" ,"))
    joined = {name: " ".join(w for w in words if w) or None for name, words in parts.items()}
    return Address(
        street=joined["street"],
        unit=address.unit or joined["unit"],
        city=joined["city"],
        state=joined["state"],
        postal_code=joined["postal_code"],
        country=address.country,
    )
