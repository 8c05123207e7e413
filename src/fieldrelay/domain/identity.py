"""Identity matching: is an incoming customer record someone we already know?

One record at a time: ``match_keys`` gives the blocking keys (E.164 phone, email, standardised address with unit,
name keys) under which a record is indexed; a lookup of the incoming record's keys returns a few candidates;
``score`` weighs the evidence of each pair field by field; ``decide`` turns the score into MERGE (automatic), REVIEW
(a person looks) or DISTINCT. ``Matcher`` is the in-memory index the bench and the tests use; the service keeps the
same keys in a table and scores the candidates it loads with the same ``score`` and ``decide``.

The score is a sum of log-odds weights, one per field, in the manner of Fellegi-Sunter record linkage, turned into a
number in [0, 1] by the logistic function. The weights are set by hand (rough ratios of how often a field agrees
between two records of one person and between two different people who share a key) and tuned on FEBRL, which is
public and was not written by us, and a synthetic set whose generator shares no code or table with this module.

Two rules overrule the sum:
- household: two adults at one address, or sharing a landline or a family email, are two people. When the first
  names are clearly different (not equal, not a nickname, not a one-letter typo) and only the shared address, phone
  or email links the records, the score is capped below review. An identifier that agrees (``Person.identifiers``)
  lifts the rule; a date of birth does not (twins).
- unconfirmed: with no first name on one side (or only an initial), nothing says which adult of the household this
  is, so the score is capped below the merge threshold: a person reviews it. The same applies when one record says
  "Jr" and the other says nothing; "Jr" against "Sr" is the household rule.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, NamedTuple, TypeVar

import jellyfish
from rapidfuzz.distance import OSA, Indel, JaroWinkler

from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.domain.identity_keys import (
    KNOWN_GIVEN_NAMES,
    compact_street,
    family_name,
    fold,
    given_initials,
    given_name,
    name_forms,
    nickname_compatible,
    parse_street,
    postal_key,
)

# Thresholds on the total score. MERGE is automatic, so it sits where a wrong merge takes two agreeing anchors to be
# wrong at once: full name (or nickname) plus a phone, an email or the address with its unit. One anchor with a
# name typo, or a full name with only the same ZIP, lands in REVIEW.
MERGE_THRESHOLD = 0.95
REVIEW_THRESHOLD = 0.5
# Caps applied by the rules above; both lie below the default thresholds they are meant to stay under.
HOUSEHOLD_CAP = 0.2
UNCONFIRMED_CAP = 0.9
# A key shared by more records than this (a placeholder email, an office switchboard) says nothing; it is skipped.
MAX_POSTINGS = 500

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
    "last_name:different": -3.0,  # people marry; the address and phone can still carry a pair to review
    "phone:shared": 5.0,
    "phone:different": -1.5,  # a mobile on one record, the landline on the other
    "email:shared": 6.0,
    "email:different": -1.0,  # people have several
    "address:same": 4.0,
    "address:unit_missing": 3.0,  # same building, one record has no unit
    "address:different_unit": -3.0,  # neighbours in one building
    "address:different": -1.5,  # moved, or another person
    "postal:same": 1.0,
    "postal:different": -1.0,
    "city:same": 0.5,
    "city:different": -0.5,
    "date_of_birth:exact": 8.0,
    "date_of_birth:near": 1.0,
    "date_of_birth:different": -3.0,
    "identifier:exact": 12.0,  # names one person: only an error makes two people share one
    "identifier:near": 6.0,  # a typed identifier one slip apart (only kinds declared typed, see score)
    "identifier:different": -3.0,  # typed identifiers carry typos; machine ids may be two accounts of one person
    "extra:same": 0.5,
    "extra:different": -0.3,
}


@dataclass(frozen=True)
class Person:
    """One customer record as the matcher sees it. Phones are E.164, emails lower case (see ``from_raw``).

    ``identifiers`` are exact identifiers of a person beyond contact details (a vendor's customer id, a national id in
    a data set that has one); ``extra`` holds other descriptive fields compared loosely. Both compare per key.
    """

    first_name: str | None = None
    last_name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    date_of_birth: str | None = None
    identifiers: Mapping[str, str] = field(default_factory=dict, hash=False)
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def from_raw(
        cls,
        first_name: str | None = None,
        last_name: str | None = None,
        *,
        phones: Iterable[str | None] = (),
        emails: Iterable[str | None] = (),
        street: str | None = None,
        unit: str | None = None,
        city: str | None = None,
        state: str | None = None,
        postal_code: str | None = None,
        date_of_birth: str | None = None,
    ) -> Person:
        """A person from raw input: phones in any format to E.164 and emails lower case; invalid ones dropped."""
        e164 = tuple(dict.fromkeys(p for p in map(normalize_phone, phones) if p))
        mails = tuple(dict.fromkeys(e for e in map(normalize_email, emails) if e))
        return cls(first_name, last_name, e164, mails, street, unit, city, state, postal_code, date_of_birth)


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


def decide(match: MatchScore, *, merge_at: float = MERGE_THRESHOLD, review_at: float = REVIEW_THRESHOLD) -> Decision:
    """MERGE at or above ``merge_at``, REVIEW at or above ``review_at``, DISTINCT below."""
    if match.total >= merge_at:
        return Decision.MERGE
    return Decision.REVIEW if match.total >= review_at else Decision.DISTINCT


@dataclass(frozen=True, slots=True)
class Features:
    """A person's normal forms, computed once per record (the index keeps these, not the raw record)."""

    given: str
    given_full: str  # every token of the first-name field run together ("tali ah" -> "taliah")
    family: str
    suffix: str
    phones: frozenset[str]
    emails: frozenset[str]
    number: str
    street: str
    street_compact: str
    unit: str
    postal: str
    city: str
    dob: str
    identifiers: Mapping[str, str]
    extra: Mapping[str, str]


def features(person: Person) -> Features:
    family, suffix = family_name(person.last_name)
    number, street, unit = parse_street(person.street, person.unit)
    dob = "".join(ch for ch in person.date_of_birth or "" if ch.isdigit())
    return Features(
        given=given_name(person.first_name),
        given_full=family_name(person.first_name)[0],
        family=family,
        suffix=suffix,
        phones=frozenset(person.phones),
        emails=frozenset(e.lower() for e in person.emails),
        number=number,
        street=street,
        street_compact=compact_street(street),
        unit=unit,
        postal=postal_key(person.postal_code),
        city=fold(person.city),
        dob=dob,
        identifiers={k: v.strip().lower() for k, v in person.identifiers.items() if v and v.strip()},
        extra={k: fold(v) for k, v in person.extra.items() if v and fold(v)},
    )


def keys_of(f: Features) -> frozenset[str]:
    keys = {f"p:{p}" for p in f.phones} | {f"e:{e}" for e in f.emails}
    places = [p for p in (f.postal, f.city and f"c{f.city}") if p]
    soundex = jellyfish.soundex(f.family) if f.family else ""
    if f.number and f.street:
        keys.add(f"s:{f.number}|{f.street}|{f.unit}")  # for records with neither ZIP nor city
    for place in places:
        if f.number and f.street:
            keys.add(f"a:{f.number}|{f.street}|{f.unit}|{place}")
        if f.number and soundex:
            # Tolerates a street misspelt and a unit left out: house number, place and the sound of the surname.
            keys.add(f"h:{f.number}|{place}|{soundex}")
        if f.number:
            # Tolerates a street and a surname misspelt at once: house number, unit and place.
            keys.add(f"u:{f.number}|{f.unit}|{place}")
        if soundex and f.given:
            keys.update(f"n:{initial}{soundex}|{place}" for initial in given_initials(f.given))
    if f.dob:
        keys.add(f"d:{f.dob}")
    keys.update(f"i:{kind}:{value}" for kind, value in f.identifiers.items())
    return frozenset(keys)


def match_keys(person: Person) -> frozenset[str]:
    """Blocking keys: two records of one person share at least one of them; a lookup returns few candidates.

    ``p:<e164>``, ``e:<email>``; ``a:<number>|<street>|<unit>|<zip or city>`` and ``s:<number>|<street>|<unit>``
    (the same without a place, for records that have none); ``h:<number>|<zip or city>|<soundex of surname>`` (a
    unit left out, a street misspelt) and ``u:<number>|<unit>|<zip or city>`` (street and surname misspelt);
    ``n:<initial of the formal first name><soundex of surname>|<zip or city>``; ``d:<date of birth>``;
    ``i:<kind>:<identifier>``.
    """
    return keys_of(features(person))


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
    if _near(a, b):
        return "typo"
    shorter, longer = sorted((a, b), key=len)
    return "partial" if len(shorter) >= 4 and shorter in longer else "different"


def _near(a: str, b: str) -> bool:
    """A one-letter slip (an edit or a transposition), or two in a long name."""
    shortest = min(len(a), len(b))
    distance = OSA.distance(a, b, score_cutoff=2)
    return (distance <= 1 and shortest >= 3) or (distance == 2 and shortest >= 7 and JaroWinkler.similarity(a, b) > 0.9)


def _swapped(a: Features, b: Features) -> bool:
    """First and last name given the other way round (a form filled in haste, "Smith John")."""
    x, y = a.given_full, b.given_full
    return (x == b.family or _near(x, b.family)) and (y == a.family or _near(y, a.family))


def _address_outcome(a: Features, b: Features) -> str | None:
    if not (a.number and a.street and b.number and b.street):
        return None
    places_conflict = a.postal and b.postal and a.postal != b.postal and not (a.city and a.city == b.city)
    if a.number != b.number or places_conflict:
        return "different"
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


def _near_value(a: str, b: str) -> bool:
    return OSA.distance(a, b, score_cutoff=2) <= 1


def score_features(a: Features, b: Features, typed_identifiers: AbstractSet[str] = frozenset()) -> MatchScore:
    """``score`` on precomputed features (the index keeps features, so it scores without parsing again)."""
    evidence: list[Evidence] = []

    def add(name: str, outcome: str | None, weight_key: str | None = None) -> None:
        if outcome is not None:
            evidence.append(Evidence(name, outcome, WEIGHTS[f"{weight_key or name}:{outcome}"]))

    first, last = _given_outcome(a.given, b.given), _family_outcome(a.family, b.family)
    if first in ("different", "initial") and (a.given_full != a.given or b.given_full != b.given):
        # A space typed inside the name ("tali ah"), or a middle name in one record only.
        whole = _given_outcome(a.given_full, b.given_full)
        first = whole if whole in ("exact", "typo") else first
    if first == "different" and last == "different" and _swapped(a, b):
        first = last = "swapped"
    add("first_name", first)
    add("last_name", last)
    if a.phones and b.phones:
        add("phone", "shared" if a.phones & b.phones else "different")
    if a.emails and b.emails:
        add("email", "shared" if a.emails & b.emails else "different")
    address = _address_outcome(a, b)
    add("address", address)
    # Postal code (or else city) when the address is missing; when the addresses differ, the same postal code still
    # says "nearby" (a mistyped house number), while a different one adds nothing to "different address".
    if address is None and a.postal and b.postal:
        add("postal", "same" if a.postal == b.postal else "different")
    elif address is None and a.city and b.city:
        add("city", "same" if a.city == b.city else "different")
    elif address == "different" and a.postal and a.postal == b.postal:
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

    log_odds = PRIOR + sum(e.weight for e in evidence)
    total = 1.0 / (1.0 + math.exp(-log_odds))
    rule: str | None = None
    if not person_level:
        linked = bool(a.phones & b.phones or a.emails & b.emails) or address in ("same", "unit_missing")
        generations = {a.suffix, b.suffix} - {""}
        if linked and (first == "different" or len(generations) > 1):
            rule, total = "household", min(total, HOUSEHOLD_CAP)
        elif first in (None, "initial") or (a.suffix != b.suffix):
            rule, total = "unconfirmed", min(total, UNCONFIRMED_CAP)
    return MatchScore(total, log_odds, tuple(evidence), rule)


def score(a: Person, b: Person, *, typed_identifiers: AbstractSet[str] = frozenset()) -> MatchScore:
    """How likely two records are one person, with the evidence of each field and the rule that capped it, if any.

    ``typed_identifiers``: kinds of ``Person.identifiers`` that people type by hand (a national id on a form), where a
    one-character slip still counts as near agreement. Other identifiers agree only when equal.
    """
    return score_features(features(a), features(b), typed_identifiers)


K = TypeVar("K", bound=Hashable)


class Candidate(NamedTuple, Generic[K]):
    id: K
    score: MatchScore
    decision: Decision


class Matcher(Generic[K]):
    """An in-memory index of known people: key -> ids. An id may hold several records (the variants merged into it)."""

    def __init__(
        self,
        *,
        merge_at: float = MERGE_THRESHOLD,
        review_at: float = REVIEW_THRESHOLD,
        max_postings: int = MAX_POSTINGS,
        typed_identifiers: AbstractSet[str] = frozenset(),
    ) -> None:
        self.merge_at, self.review_at, self.max_postings = merge_at, review_at, max_postings
        self.typed_identifiers = frozenset(typed_identifiers)
        self._index: dict[str, set[K]] = {}
        self._rank: dict[K, int] = {}  # order of first indexing: breaks ties between equal scores (stable sort)
        self._records: dict[K, list[Features]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def add(self, id: K, person: Person) -> None:
        """Index a record under ``id`` (a new person, or another variant of one already known)."""
        f = features(person)
        self._records.setdefault(id, []).append(f)
        self._rank.setdefault(id, len(self._rank))
        for key in keys_of(f):
            self._index.setdefault(key, set()).add(id)

    def candidates(self, person: Person) -> list[Candidate[K]]:
        """Known people sharing a key with ``person``, scored and decided, best first (DISTINCT ones included)."""
        f = features(person)
        ids: set[K] = set()
        for key in keys_of(f):
            posting = self._index.get(key)
            if posting and len(posting) <= self.max_postings:
                ids |= posting
        found = []
        for id in sorted(ids, key=self._rank.__getitem__):
            best = max((score_features(f, g, self.typed_identifiers) for g in self._records[id]), key=lambda s: s.total)
            found.append(Candidate(id, best, decide(best, merge_at=self.merge_at, review_at=self.review_at)))
        found.sort(key=lambda c: -c.score.total)
        merges = [c for c in found if c.decision is Decision.MERGE]
        if len(merges) > 1 and any(self._household(merges[0].id, other.id) for other in merges[1:]):
            # "Pat Hunt" at an address where Patrick and Patricia Hunt live: fits both, so a person decides.
            found = [c._replace(decision=Decision.REVIEW) if c.decision is Decision.MERGE else c for c in found]
        return found

    def _household(self, x: K, y: K) -> bool:
        """True when two known people are told apart by the household rule (two adults of one household)."""
        return any(
            score_features(f, g, self.typed_identifiers).rule == "household"
            for f in self._records[x]
            for g in self._records[y]
        )
