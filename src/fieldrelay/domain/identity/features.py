"""A customer record as identity matching sees it: ``Person``, its normal forms (``Features``) and its blocking keys.

``features`` computes the normal forms once per record (the index and the service keep them, not the raw record);
``keys_of`` gives the keys under which a record is indexed and looked up. Scoring is in ``identity_score.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import jellyfish

from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.domain.identity.keys import (
    compact_street,
    family_name,
    fold,
    given_initials,
    given_name,
    parse_street,
    postal_key,
)


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
    """The normal forms of a record: names folded, street parsed, ZIP5, date of birth as digits."""
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


# What two records sharing a key say, by the key's kind (its prefix, see keys_of): a phone, an email or an
# identifier names one person; an address with its unit one household; the looser keys a neighbourhood at most.
_KEY_STRENGTH = {"p": 8, "e": 8, "i": 8, "a": 4, "s": 3, "u": 2, "h": 2, "d": 2}


def key_strength(key: str) -> int:
    """How much sharing this key says about two records being one person (name keys: 1)."""
    return _KEY_STRENGTH.get(key.split(":", 1)[0], 1)


def keys_of(f: Features) -> frozenset[str]:
    """``match_keys`` on precomputed features."""
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
        if len(f.family) >= 3 and f.given:
            # Soundex changes when a consonant is dropped or doubled ("cames" C520, "camens" C552); the surname's first
            # three letters do not, so a slip after them still finds the record (a second pass, as in multi-pass
            # blocking). Shorter surnames are whole in the soundex key.
            keys.update(f"r:{initial}{f.family[:3]}|{place}" for initial in given_initials(f.given))
    if f.dob:
        keys.add(f"d:{f.dob}")
    keys.update(f"i:{kind}:{value}" for kind, value in f.identifiers.items())
    return frozenset(keys)


def match_keys(person: Person) -> frozenset[str]:
    """Blocking keys: two records of one person share at least one of them; a lookup returns few candidates.

    ``p:<e164>``, ``e:<email>``; ``a:<number>|<street>|<unit>|<zip or city>`` and ``s:<number>|<street>|<unit>``
    (the same without a place, for records that have none); ``h:<number>|<zip or city>|<soundex of surname>`` (a
    unit left out, a street misspelt) and ``u:<number>|<unit>|<zip or city>`` (street and surname misspelt);
    ``n:<initial of the formal first name><soundex of surname>|<zip or city>`` and
    ``r:<initial of the formal first name><first three letters of surname>|<zip or city>``; ``d:<date of birth>``;
    ``i:<kind>:<identifier>``.
    """
    return keys_of(features(person))
