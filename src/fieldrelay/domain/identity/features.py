"""A customer record as identity matching sees it: ``Person``, its normal forms (``Features``) and its blocking keys.

``features`` computes the normal forms once per record (the index and the service keep them, not the raw record);
``keys_of`` gives the keys under which a record is indexed and looked up. Scoring is in ``identity_score.py``.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import jellyfish

from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.domain.identity.channels import is_marketplace, is_relay_email
from fieldrelay.domain.identity.keys import (
    compact_street,
    family_name,
    fold,
    given_initials,
    given_name,
    name_forms,
    name_order,
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
    # Phones of ``phones`` a marketplace masks (channels.py): weak evidence either way.
    proxy_phones: frozenset[str] = frozenset()

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
        lead_source: str | None = None,
    ) -> Person:
        """A person from raw input: phones in any format to E.164 and emails lower case; invalid ones dropped.

        ``lead_source``: where the record came from; a marketplace's phones are taken as masked (proxy) numbers.
        """
        e164 = tuple(dict.fromkeys(p for p in map(normalize_phone, phones) if p))
        mails = tuple(dict.fromkeys(e for e in map(normalize_email, emails) if e))
        proxies = frozenset(e164) if is_marketplace(lead_source) else frozenset()
        return cls(
            first_name,
            last_name,
            e164,
            mails,
            street,
            unit,
            city,
            state,
            postal_code,
            date_of_birth,
            proxy_phones=proxies,
        )


@dataclass(frozen=True, slots=True)
class Features:
    """A person's normal forms, computed once per record (the index keeps these, not the raw record)."""

    given: str
    given_full: str  # every token of the first-name field run together ("tali ah" -> "taliah")
    family: str
    suffix: str
    phones: frozenset[str]  # the person's own numbers (proxies apart)
    emails: frozenset[str]  # the person's own addresses (relays apart)
    proxy_phones: frozenset[str]
    relay_emails: frozenset[str]
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
    first, last = name_order(person.first_name, person.last_name)
    family, suffix = family_name(last)
    given_full, given_suffix = family_name(first)
    suffix = suffix or given_suffix  # "Mendez Jr" typed into the first-name box of a form filled the other way round
    number, street, unit = parse_street(person.street, person.unit)
    dob = "".join(ch for ch in person.date_of_birth or "" if ch.isdigit())
    emails = frozenset(e.lower() for e in person.emails)
    relays = frozenset(e for e in emails if is_relay_email(e))
    return Features(
        given=given_name(first),
        given_full=given_full,
        family=family,
        suffix=suffix,
        phones=frozenset(person.phones) - person.proxy_phones,
        emails=emails - relays,
        proxy_phones=frozenset(person.proxy_phones),
        relay_emails=relays,
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
_KEY_STRENGTH = {"p": 8, "e": 8, "i": 8, "a": 4, "s": 3, "u": 2, "h": 2, "d": 2, "t": 2, "l": 2}


def key_strength(key: str) -> int:
    """How much sharing this key says about two records being one person (name keys: 1)."""
    return _KEY_STRENGTH.get(key.split(":", 1)[0], 1)


# Keys that hold a name in a place (first name and surname, or its initial, in a ZIP code or city): how many known
# people share one says how common the name is there (``name_count``).
_NAME_KEYS = frozenset("gmnr")
K = TypeVar("K", bound=Hashable)


def is_name_key(key: str) -> bool:
    """True for a key that holds a name in a place (``name_counts`` counts their holders)."""
    return key[0] in _NAME_KEYS


def name_counts(holders: Mapping[str, Collection[K]]) -> dict[K, int]:
    """Per known person, how many people hold the rarest name key it shares with a record.

    ``holders``: the record's keys, each with the known people indexed under it (keys other than name keys are
    ignored). The most specific name key a person shares is the one fewest hold: two Maria G. in the ZIP code, one
    Maria Garza. People who share no name key are left out (they count as one).
    """
    counts: dict[K, int] = {}
    for key, ids in holders.items():
        if is_name_key(key):
            n = len(ids)
            for id in ids:
                if n < counts.get(id, n + 1):
                    counts[id] = n
    return counts


def keys_of(f: Features) -> frozenset[str]:
    """``match_keys`` on precomputed features."""
    places = [p for p in (f.postal, f.city and f"c{f.city}") if p]
    soundex = jellyfish.soundex(f.family) if len(f.family) > 1 else ""
    # Proxies and relays are indexed too (a lead source can take a real number for a masked one); a tracking number
    # shared by hundreds of leads passes the posting cap and is skipped, and scoring weighs a shared proxy weakly.
    keys = {f"p:{p}" for p in f.phones | f.proxy_phones} | {f"e:{e}" for e in f.emails | f.relay_emails}
    # The mailbox name at another provider ("jane.smith" at gmail and at yahoo), when it is long enough to mean one.
    keys.update(f"l:{local}" for local in (e.split("@", 1)[0] for e in f.emails) if len(local) >= 6)
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
        if f.street and soundex:
            # Tolerates a house number mistyped: street, unit, place and the sound of the surname.
            keys.add(f"t:{f.street_compact}|{f.unit}|{place}|{soundex}")
        if f.family and f.given:
            # First name and the surname's initial in a place: "Jane S." as a marketplace shows a lead.
            keys.update(f"g:{form}|{f.family[0]}|{place}" for form in name_forms(f.given))
        if soundex and f.given:
            keys.update(f"n:{initial}{soundex}|{place}" for initial in given_initials(f.given))
            # The sounds of first and last name in either order: "SMITH JANE" typed into the two boxes.
            keys.update(
                "m:" + "|".join(sorted((jellyfish.soundex(form), soundex))) + f"|{place}"
                for form in name_forms(f.given)
            )
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
