"""Offline contact facts: a phone number's region and line type; a lead source in the shop's canonical words."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from fieldrelay.domain.contact import DEFAULT_REGION
from fieldrelay.domain.enrichment.provenance import PHONENUMBERS, Sourced

_TYPE_NAMES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}
# Likely to receive a text. The numbering plan cannot tell a US landline from a mobile (NANP numbers are all
# "fixed_line_or_mobile"), and a VoIP number may or may not take SMS; only a carrier look-up (a network call, e.g.
# Twilio Lookup) knows. So this is a likelihood for choosing a channel, never a reason to skip the opt-in rules.
_TEXTABLE_TYPES = frozenset({"mobile", "fixed_line_or_mobile"})


@dataclass(frozen=True)
class PhoneFacts:
    """What the numbering plan says about a number."""

    e164: str
    region: str | None  # ISO 3166 code of the number's region ("US", "CA", "PR"); None when invalid
    number_type: str  # one of the _TYPE_NAMES values, or "invalid"
    likely_textable: bool  # mobile or fixed_line_or_mobile: see _TEXTABLE_TYPES

    def sourced(self) -> dict[str, Sourced]:
        """phone_region, phone_type and phone_likely_textable as proposals for ``fill_missing``."""
        if self.number_type == "invalid":
            return {}
        return {
            "phone_region": Sourced(self.region, PHONENUMBERS),
            "phone_type": Sourced(self.number_type, PHONENUMBERS),
            "phone_likely_textable": Sourced(self.likely_textable, PHONENUMBERS),
        }


def phone_facts(e164: str) -> PhoneFacts:
    """Region and line type of an E.164 number (a national US number is read as US). Never raises."""
    invalid = PhoneFacts(e164=e164, region=None, number_type="invalid", likely_textable=False)
    try:
        parsed = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return invalid
    if not phonenumbers.is_valid_number(parsed):
        return invalid
    number_type = _TYPE_NAMES.get(phonenumbers.number_type(parsed), "unknown")
    return PhoneFacts(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(parsed),
        number_type=number_type,
        likely_textable=number_type in _TEXTABLE_TYPES,
    )


# --- lead sources -------------------------------------------------------------------------------------------------
LEAD_SOURCES = (
    "google_ads",
    "google_lsa",
    "angi",
    "thumbtack",
    "yelp",
    "facebook",
    "referral",
    "repeat",
    "website",
    "direct_mail",
    "vehicle",
    "marketplace",
    "other",
)
# First match wins, so the specific come before the general: "Google LSA" before "Google", "Facebook referral"
# is Facebook. Patterns are searched in the folded text (lower case, anything but letters and digits a space).
_LEAD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (canonical, re.compile(pattern))
    for canonical, pattern in (
        ("google_lsa", r"\b(?:g?lsa|local services?(?: ads?)?|google (?:guaranteed|screened))\b"),
        ("website", r"\b(?:gmb|gbp|google (?:my business|business profile|maps|organic)|organic|seo)\b"),
        ("google_ads", r"\b(?:google|adwords|ppc|gclid|paid search|pay per click)\b"),
        ("angi", r"\b(?:angi|angie|angies|angies list|home ?advisor)\b"),
        ("thumbtack", r"\bthumb ?tack\b"),
        ("yelp", r"\byelp\b"),
        ("facebook", r"\b(?:facebook|fb|instagram|insta|ig|meta)\b"),
        ("vehicle", r"\b(?:truck|van|vehicle|fleet|wrap|wrapped)\b"),
        ("direct_mail", r"\b(?:direct mail|mailer|mailers|postcard|postcards|door ?hangers?|flyers?|fliers?|eddm)\b"),
        (
            "repeat",
            r"\b(?:repeat|returning|(?:existing|past|previous) (?:customer|client)|members?|membership"
            r"|maintenance (?:plan|agreement))\b",
        ),
        ("referral", r"\b(?:referr?al|referr?ed|word of mouth|friend|family|neighbou?r)\b"),
        ("website", r"\b(?:website|web ?site|web|web ?form|online|site|contact form|book(?:ed)? online)\b"),
        # A lead marketplace the shop did not name (the named ones, Angi and Thumbtack, are matched above).
        ("marketplace", r"\b(?:marketplaces?|lead (?:service|provider|vendor)s?|bought leads?)\b"),
        ("other", r"\bother\b"),
    )
)
_FOLD = re.compile(r"[^a-z0-9]+")


def normalize_lead_source(raw: str | None) -> str | None:
    """The canonical lead source (one of LEAD_SOURCES) for a field tool's free text; None when blank.

    "Google Ads" -> google_ads, "GLSA" -> google_lsa, "HomeAdvisor" -> angi, "door hanger" -> direct_mail, "truck
    wrap" -> vehicle. Unrecognised text -> "other": the caller keeps the raw text beside it (the timeline and the
    vendor field), so nothing the shop wrote is lost. A plain "Google" counts as Google Ads: it is how shops label
    paid Google leads when the platform offers one Google choice; Google Business Profile, Maps and
    organic search count as "website" (found online, unpaid). Source: ``LEAD_SOURCE_RULE``.
    """
    if not raw:
        return None
    folded = " ".join(_FOLD.sub(" ", raw.lower().replace("'", "")).split())
    if not folded:
        return None
    canonical = folded.replace(" ", "_")
    if canonical in LEAD_SOURCES:
        return canonical
    for name, pattern in _LEAD_PATTERNS:
        if pattern.search(folded):
            return name
    return "other"
