"""Where a customer field's value came from, and the one rule for when a new value may replace an old one.

Every enriched field is stored with its source (``Sourced``), so the office can see why a record says what it says
and enrichment never overwrites what a person typed with a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

# --- sources ------------------------------------------------------------------------------------------------------
PERSON = "person"  # typed or confirmed by someone at the shop (dashboard, API user)
VENDOR_PREFIX = "vendor:"  # "vendor:housecallpro": what a field tool, form or marketplace said
ZIP_SOURCE = "zip:zipcodes"  # city, state, time zone looked up from the ZIP code in the ``zipcodes`` package
SCOURGIFY = "scourgify"  # address standardised by usaddress-scourgify (USPS Pub 28)
FALLBACK = (
    "fallback"  # address only cleaned locally (upper case, spaces, suffixes) because scourgify could not parse it
)
PHONENUMBERS = "phonenumbers"  # region and line type from Google's numbering-plan metadata (the phonenumbers package)
RULE_PREFIX = "rule:"  # "rule:furnace_install": a shop-editable rule (equipment, warranty, lead-source mapping)

LEAD_SOURCE_RULE = RULE_PREFIX + "lead_source"  # a lead source mapped to the canonical set by normalize_lead_source


def vendor_source(connector: str) -> str:
    """``"vendor:<connector>"``: a value a connector's payload carried."""
    return VENDOR_PREFIX + connector


def rule_source(name: str) -> str:
    """``"rule:<name>"``: a value a named rule derived."""
    return RULE_PREFIX + name


# --- ranking: the one place it is decided -------------------------------------------------------------------------
# Higher wins. A proposed value replaces a current one only when its rank is strictly higher, so:
#   person  (40)  never replaced by enrichment: a person's word beats any machine's;
#   vendor  (30)  what a field tool or form said about this customer beats anything inferred from other data;
#   derived (20)  deterministic look-ups and rules (ZIP table, scourgify, phonenumbers, shop rules) — a guess about
#                 this customer drawn from general data, all equal, so one guess never flips another;
#   fallback(10)  an address only cleaned locally, replaced as soon as scourgify can parse the address;
#   unknown  (0)  a source this table does not know: fills a gap, replaces nothing.
_EXACT_RANKS: dict[str, int] = {
    PERSON: 40,
    SCOURGIFY: 20,
    PHONENUMBERS: 20,
    FALLBACK: 10,
}
_PREFIX_RANKS: tuple[tuple[str, int], ...] = (
    (VENDOR_PREFIX, 30),
    ("zip:", 20),
    (RULE_PREFIX, 20),
)


def source_rank(source: str) -> int:
    """The rank of a source in the table above; 0 for a source it does not know."""
    if source in _EXACT_RANKS:
        return _EXACT_RANKS[source]
    for prefix, rank in _PREFIX_RANKS:
        if source.startswith(prefix) and len(source) > len(prefix):
            return rank
    return 0


FieldValue = str | int | bool | date | None


@dataclass(frozen=True)
class Sourced:
    """A field's value and where it came from (one of the sources above)."""

    value: FieldValue
    source: str

    def is_blank(self) -> bool:
        """True when there is no value: None or an empty or all-space string."""
        return self.value is None or (isinstance(self.value, str) and not self.value.strip())


def fill_missing(current: Mapping[str, Sourced | None], proposed: Mapping[str, Sourced]) -> dict[str, Sourced]:
    """The proposed values to write: only where the current value is missing or from a lower-ranked source.

    Returns the accepted proposals only (field -> value with its source); the caller writes them and keeps the
    rest of the record as it is. Rules:

    - a blank proposal (None, "") never replaces anything: enrichment fills, it never empties;
    - a field absent from ``current``, None, or blank from a non-person source is missing and is filled;
    - a value from ``"person"`` is never replaced, and neither is a person's deliberate blank (someone who cleared
      a wrong city does not want the ZIP guess back);
    - otherwise the proposal wins only when ``source_rank`` ranks its source strictly higher. Equal ranks keep the
      current value: applying a vendor's *change* to a vendor value is the event handler's business (with its
      out-of-order check), not enrichment's.
    """
    accepted: dict[str, Sourced] = {}
    for name, offer in proposed.items():
        if offer.is_blank():
            continue
        held = current.get(name)
        if held is None:
            accepted[name] = offer
        elif held.source == PERSON:
            continue
        elif held.is_blank() or source_rank(offer.source) > source_rank(held.source):
            accepted[name] = offer
    return accepted
