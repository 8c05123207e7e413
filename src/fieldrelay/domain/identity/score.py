"""Scoring a pair of records: log-odds weights per field, the household and unconfirmed rules, the decision.

The score is a sum of log-odds weights, one per field, in the manner of Fellegi-Sunter record linkage, turned into a
number in [0, 1] by the logistic function. Each weight is the log of a ratio: how often the outcome happens between
two records of one person against how often between two different people who share a key. The ratios are set by hand
from what the field is (how many values it takes, how often people mistype or change it) and checked on FEBRL, which
is public and was not written by us, and a synthetic set whose generator shares no code or table with this module.
The rules that overrule the sum are described in ``identity.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from enum import Enum

from rapidfuzz.distance import OSA, Indel, JaroWinkler

from fieldrelay.domain.identity.features import Features, Person, features
from fieldrelay.domain.identity.keys import KNOWN_GIVEN_NAMES, given_initials, name_forms, nickname_compatible

# Thresholds on the total score. MERGE is automatic, so it sits where a wrong merge takes two agreeing anchors to be
# wrong at once: full name (or nickname) plus a phone, an email or the address with its unit. One anchor with a
# name typo, or a full name with only the same ZIP, lands in REVIEW.
MERGE_THRESHOLD = 0.95
REVIEW_THRESHOLD = 0.5
# Caps applied by the rules; both lie below the default thresholds they are meant to stay under.
HOUSEHOLD_CAP = 0.2
UNCONFIRMED_CAP = 0.9

# Log-odds weights (natural log). PRIOR: a pair that shares a key and nothing else is most likely two people.
PRIOR = -7.0
WEIGHTS: Mapping[str, float] = {
    "first_name:exact": 3.5,
    "first_name:swapped": 3.5,
    "first_name:nickname": 3.0,
    "first_name:typo": 2.5,
    "first_name:initial": 1.0,
    "first_name:different": -3.0,
    "last_name:exact": 3.5,
    "last_name:swapped": 3.5,
    "last_name:typo": 2.5,
    "last_name:partial": 1.5,  # one of a double-barrelled name
    # "Jane S." (how marketplaces show a lead): one letter agrees by chance about one time in fifteen, ln 15 ≈ 2.7;
    # less, as one household's adults share the initial.
    "last_name:initial": 2.5,
    "last_name:different": -3.0,  # people marry; the address and phone can still carry a pair to review
    "phone:shared": 5.0,
    # A mobile on one record, the landline or a work number on the other. Kept strong enough that the full name and
    # the address with another number land in review, not a merge: a father and son of one name at one address, the
    # son's "Jr" left off, look exactly like that (measured: -1.0 merged them and cost 0.3-0.8 points of precision on
    # every seed of bench/identity.py; -1.5 keeps precision at 0.997-1.0 for 1.5 points of auto-merge recall).
    # Weight 0 for exactly that case (exact full name, the address with its unit, no email against, no "Jr") was
    # measured too: 1.3-1.7 points of recall, but household merges 0-0.12% -> 0.12-0.21% at 10,000 records. The
    # bench's pairs of that kind were 52 of one person against 5 of father and son: odds 10:1, a total of about 0.91,
    # under the merge threshold, so a person decides.
    "phone:different": -1.5,
    # A marketplace's masked number: it may forward many homeowners' calls, and a homeowner's own number is not on
    # the lead, so sharing one says little and lacking one nothing.
    "phone:proxy_shared": 2.5,
    "email:shared": 6.0,
    "email:different": -0.5,  # people have several
    "email:relay_shared": 3.0,  # one marketplace conversation: the same lead, told twice
    "address:same": 4.0,
    "address:unit_missing": 3.0,  # same building, one record has no unit
    "address:number_typo": 1.5,  # same street and unit, the house number one keystroke off
    "address:different_unit": -3.0,  # neighbours in one building
    "address:different": -1.5,  # moved, or another person
    # A homeowner who moved: the name agrees and an own phone or email is shared (see ``_moved``). Another person
    # with that name and contact is one of the household (the household rule), so the other address is the move.
    "address:moved": 0.0,
    "postal:same": 1.0,
    "postal:different": -1.0,
    "postal:moved": 0.0,  # as address:moved, when one record gives only a ZIP code
    "city:same": 0.5,
    "city:different": -0.5,
    # One date in some 30,000 would be ln 30,000 ≈ 10; less, as the date is also a blocking key and twins share one.
    "date_of_birth:exact": 8.0,
    # One keystroke apart (a digit changed or two swapped): about 80 of those 30,000 dates are, so two people are
    # that close about 0.3% of the time, while a few % of typed dates carry a slip: ln(0.03 / 0.003) ≈ 2.3.
    "date_of_birth:near": 2.5,
    "date_of_birth:different": -3.0,
    # Names one person: a 7-digit identifier agrees by chance about once in 10^7 pairs, ln(10^7) ≈ 16. It offsets the
    # prior and a first name, surname and date of birth that all disagree: even odds, so a person reviews that.
    "identifier:exact": 16.0,
    # A typed identifier one slip apart (only kinds declared typed, see score): a 7-digit value has about 70 such
    # neighbours, so two people are that close about 7 times in 10^6, against a few % of typed values with a slip:
    # ln(0.05 / 7e-6) ≈ 9.
    "identifier:near": 9.0,
    "identifier:different": -3.0,  # typed identifiers carry typos; machine ids may be two accounts of one person
    "extra:same": 0.5,
    "extra:different": -0.3,
}


# The name weights above are for a name one known person of the place bears. When several do (three Maria G. in one
# ZIP code), agreeing with one of them is that much weaker: the log of how many share it, as in the frequency-based
# weights of Fellegi-Sunter linkage, counted from the shop's own records (the postings of the name keys, see
# ``features.name_counts``), where only the name and the place link the pair. Counted no further than the cap: past
# twenty namesakes in one place the name says next to nothing either way. (A key shared by more people than the posting
# limit is skipped, and counts for nothing: 100 customers in the service, 500 in the in-memory index; no name is that
# common in one ZIP code of a shop's customers, so both count alike.)
NAME_FREQUENCY_WEIGHT = 1.0
NAME_COUNT_CAP = 20


class Decision(Enum):
    MERGE = "merge"
    REVIEW = "review"
    DISTINCT = "distinct"


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one field said: ``outcome`` ("exact", "nickname", "typo", "shared", "different", …) and its weight."""

    field: str
    outcome: str
    weight: float


@dataclass(frozen=True, slots=True)
class MatchScore:
    total: float  # in [0, 1]
    log_odds: float
    evidence: tuple[Evidence, ...]
    rule: str | None = None  # "household" or "unconfirmed" when a rule capped the total

    def outcome(self, field_name: str) -> str | None:
        """The outcome recorded for a field, or None when the field was missing on either side."""
        return next((e.outcome for e in self.evidence if e.field == field_name), None)

    @property
    def identified(self) -> bool:
        """True when an identifier agreed (exactly, or near for a typed one): it names the person, rules aside."""
        return any(e.field.startswith("id:") and e.outcome != "different" for e in self.evidence)


def decide(match: MatchScore, *, merge_at: float = MERGE_THRESHOLD, review_at: float = REVIEW_THRESHOLD) -> Decision:
    """MERGE at or above ``merge_at``, REVIEW at or above ``review_at``, DISTINCT below."""
    if match.total >= merge_at:
        return Decision.MERGE
    return Decision.REVIEW if match.total >= review_at else Decision.DISTINCT


def _given_outcome(a: str, b: str) -> str | None:
    if not a or not b:
        return None
    if a == b:
        return "exact"
    if nickname_compatible(a, b):
        return "nickname"
    if (len(a) == 1 and a in given_initials(b)) or (len(b) == 1 and b in given_initials(a)):
        return "initial"
    if a in KNOWN_GIVEN_NAMES and b in KNOWN_GIVEN_NAMES:
        return "different"  # Carl and Carol, Daniel and Danielle: one letter apart, two people
    # A slip in either name, or in the nickname or formal name of the other ("michsel" for mike).
    if _near(a, b) or any(_near(a, form) for form in name_forms(b) if form != b):
        return "typo"
    return "typo" if any(_near(form, b) for form in name_forms(a) if form != a) else "different"


def _family_outcome(a: str, b: str) -> str | None:
    if not a or not b:
        return None
    if a == b:
        return "exact"
    if len(a) == 1 or len(b) == 1:
        return "initial" if a[0] == b[0] else "different"
    if _near(a, b):
        return "typo"
    shorter, longer = sorted((a, b), key=len)
    return "partial" if len(shorter) >= 4 and shorter in longer else "different"


def _near(a: str, b: str) -> bool:
    """A one-letter slip (an edit or a transposition), or two in a long name."""
    shortest = min(len(a), len(b))
    distance = OSA.distance(a, b, score_cutoff=2)
    return (distance <= 1 and shortest >= 3) or (distance == 2 and shortest >= 7 and JaroWinkler.similarity(a, b) > 0.9)


def _near_value(a: str, b: str) -> bool:
    return OSA.distance(a, b, score_cutoff=2) <= 1


def _swapped(a: Features, b: Features) -> bool:
    """First and last name given the other way round (a form filled in haste, "Smith John")."""
    x, y = a.given_full, b.given_full
    return _same_word(x, b.family) and _same_word(y, a.family)


def _same_word(given: str, other: str) -> bool:
    """A name read from the other box agrees: equal, a slip, or a nickname ("bob" for "robert")."""
    return bool(given and other) and (given == other or _near(given, other) or nickname_compatible(given, other))


def _other_town(a: Features, b: Features) -> bool:
    """True when two addresses lie in different towns: the ZIP codes differ and the city does not say otherwise."""
    if not (a.postal and b.postal) or a.postal == b.postal:
        return False
    x, y = a.city.replace(" ", ""), b.city.replace(" ", "")  # a space slipped into "round rock" is no other town
    if x and x == y:
        return False  # one town with several ZIP codes
    # A ZIP code one keystroke off and a city one letter off at once are two slips: another town whose name and code
    # are both that close, with the same house number and street, is far rarer.
    return not (x and y and _near(x, y) and _near_value(a.postal, b.postal))


def _address_outcome(a: Features, b: Features) -> str | None:
    if not (a.number and a.street and b.number and b.street):
        return None
    if _other_town(a, b):
        return "different"
    if a.number != b.number:
        # One keystroke in a house number of two digits or more, everything else the same: a typo, not a neighbour.
        near = min(len(a.number), len(b.number)) >= 2 and _near_value(a.number, b.number) and a.unit == b.unit
        return "number_typo" if near and a.street_compact == b.street_compact else "different"
    if (
        max(
            Indel.normalized_similarity(a.street, b.street),
            Indel.normalized_similarity(a.street_compact, b.street_compact),
        )
        < 0.85
    ):
        return "different"
    if a.unit == b.unit:
        return "same"
    return "unit_missing" if not a.unit or not b.unit else "different_unit"


def _moved(first: str | None, last: str | None, shared_contact: bool) -> bool:
    """Another address is a move, not another person, when an own phone or email is shared and both parts of the
    name agree (exactly, as a nickname, a slip or an initial surname). A first name that differs is the household
    rule's; a first name missing or an initial stays unconfirmed."""
    agrees = first in ("exact", "nickname", "typo", "swapped") and last in ("exact", "typo", "initial", "swapped")
    return shared_contact and agrees


def _mailbox_names(a: Features, b: Features) -> bool:
    """A shared own email whose mailbox begins with the first name one record gives ("jane.smith@…", "jane_1985@…")
    says which adult of the household a record without a first name is: that adult's own mailbox, not the family's
    ("thesmithfamily@…" names nobody)."""
    names = {n for n in (a.given, a.given_full, b.given, b.given_full) if len(n) >= 3}
    shared = a.emails & b.emails
    return any("".join(ch for ch in e.split("@", 1)[0] if ch.isalpha()).startswith(n) for e in shared for n in names)


def _lone_surname(x: Features, other: Features) -> Features:
    """A lone name that is the other record's surname ("Torres" typed into a form's one name box) is read as one.

    Forms put a single word into the first name; read as a first name, "Torres" against "Ana Torres" would look like
    another adult of the household. Read as the surname, it leaves the first name unknown: a person reviews the pair.
    """
    if x.given and not x.family and other.family and x.given_full == other.family:
        return replace(x, given="", given_full="", family=x.given_full)
    return x


def name_frequency_weight(name_count: int) -> float:
    """What a name shared by ``name_count`` known people of one place says less than a name held by one of them."""
    return -NAME_FREQUENCY_WEIGHT * math.log(min(name_count, NAME_COUNT_CAP)) if name_count > 1 else 0.0


def score_features(
    a: Features, b: Features, typed_identifiers: AbstractSet[str] = frozenset(), name_count: int = 1
) -> MatchScore:
    """``score`` on precomputed features (the index keeps features, so it scores without parsing again).

    ``name_count``: how many known people of the place share the name key that ``b``'s person shares with ``a``
    (``features.name_counts``); 1, the default, when ``b``'s is the only one or nobody counted.
    """
    evidence: list[Evidence] = []

    def add(name: str, outcome: str | None, weight_key: str | None = None) -> None:
        if outcome is not None:
            evidence.append(Evidence(name, outcome, WEIGHTS[f"{weight_key or name}:{outcome}"]))

    a, b = _lone_surname(a, b), _lone_surname(b, a)
    first, last = _given_outcome(a.given, b.given), _family_outcome(a.family, b.family)
    if first in ("different", "initial") and (a.given_full != a.given or b.given_full != b.given):
        # A space typed inside the name ("tali ah"), or a middle name in one record only.
        whole = _given_outcome(a.given_full, b.given_full)
        first = whole if whole in ("exact", "typo") else first
    if first == "different" and last == "different" and _swapped(a, b):
        first = last = "swapped"
    add("first_name", first)
    add("last_name", last)
    # A marketplace number that the other record gives as the homeowner's own is no mask: the lead passed on the real
    # number (masked numbers belong to the marketplace and are nobody's own), so it counts as shared.
    own_phone = bool(a.phones & (b.phones | b.proxy_phones) or b.phones & a.proxy_phones)
    if own_phone:
        add("phone", "shared")
    elif (a.phones | a.proxy_phones) & (b.phones | b.proxy_phones):
        add("phone", "proxy_shared")
    elif a.phones and b.phones:
        add("phone", "different")
    if a.emails & b.emails:
        add("email", "shared")
    elif a.relay_emails & b.relay_emails:
        add("email", "relay_shared")
    elif a.emails and b.emails:
        add("email", "different")
    address = _address_outcome(a, b)
    moved = _moved(first, last, own_phone or bool(a.emails & b.emails))
    address = "moved" if address == "different" and moved else address
    add("address", address)
    # Postal code (or else city) when the address is missing; when the addresses differ, the same postal code still
    # says "nearby" (a mistyped house number), while a different one adds nothing to "different address".
    if address is None and a.postal and b.postal:
        add("postal", "same" if a.postal == b.postal else "moved" if moved else "different")
    elif address is None and a.city and b.city:
        add("city", "same" if a.city == b.city else "different")
    elif address in ("different", "number_typo") and a.postal and a.postal == b.postal:
        add("postal", "same")
    # An identifier agrees: the household rule does not apply. A date of birth does not lift it (twins).
    person_level = False
    if a.dob and b.dob:
        dob = "exact" if a.dob == b.dob else "near" if _near_value(a.dob, b.dob) else "different"
        add("date_of_birth", dob)
    for kind in a.identifiers.keys() & b.identifiers.keys():
        x, y = a.identifiers[kind], b.identifiers[kind]
        # "near" only for identifiers people type: for machine-issued ids (cus_1234 and cus_1235) it means nothing.
        near = kind in typed_identifiers and _near_value(x, y)
        outcome = "exact" if x == y else "near" if near else "different"
        person_level = person_level or outcome != "different"
        add(f"id:{kind}", outcome, "identifier")
    for kind in a.extra.keys() & b.extra.keys():
        similar = JaroWinkler.similarity(a.extra[kind], b.extra[kind]) >= 0.9
        add(f"extra:{kind}", "same" if similar else "different", "extra")

    linked = own_phone or bool(a.emails & b.emails) or address in ("same", "unit_missing", "number_typo")
    # Only where the name and the place are what links the pair: two people who share a phone, an email or an
    # address are one household, whatever the town's names (the household rule weighs those).
    if name_count > 1 and not linked and not person_level and (first or last):
        evidence.append(
            Evidence(
                "name_frequency", f"shared by {min(name_count, NAME_COUNT_CAP)}", name_frequency_weight(name_count)
            )
        )
    log_odds = PRIOR + sum(e.weight for e in evidence)
    total = 1.0 / (1.0 + math.exp(-log_odds))
    rule: str | None = None
    if not person_level:
        generations = {a.suffix, b.suffix} - {""}
        if linked and (first == "different" or len(generations) > 1):
            rule, total = "household", min(total, HOUSEHOLD_CAP)
        elif (first in (None, "initial") and not _mailbox_names(a, b)) or (a.suffix != b.suffix):
            rule, total = "unconfirmed", min(total, UNCONFIRMED_CAP)
    return MatchScore(total, log_odds, tuple(evidence), rule)


def score(a: Person, b: Person, *, typed_identifiers: AbstractSet[str] = frozenset()) -> MatchScore:
    """How likely two records are one person, with the evidence of each field and the rule that capped it, if any.

    ``typed_identifiers``: kinds of ``Person.identifiers`` that people type by hand (a national id on a form), where a
    one-character slip still counts as near agreement. Other identifiers agree only when equal.
    """
    return score_features(features(a), features(b), typed_identifiers)
