"""Website form submissions during the simulated week, written the way people fill in a form.

Pure and deterministic: one ``random.Random`` per seed. The customers are read from the week's Housecall Pro
``customer.created`` deliveries (``shop.build_week``), so a lead can come from someone the shop already knows. Each
submission carries the kind a person reading it would conclude, not what the matcher decides (tests compare the two):

- ``RETURNING``: a customer of the week asks for more work and types their details differently from the vendor's
  record (a nickname, the phone in another format, "Road" for "Rd" and "Apt 4" for "#4", no email, lower case, a
  one-letter slip, the whole address in one box). Obviously the same person: merged automatically.
- ``UNCERTAIN``: too little to be sure (the surname and the phone on file but no first name; a surname slip, only
  the ZIP code and an email the shop never had). A person should decide: the review queue.
- ``HOUSEHOLD``: the spouse of a customer, same address and landline, another first name: a person of their own.
- ``NEW``: someone the shop has never seen: a new lead.

Nothing here is shared with the identity matcher (``domain/identity*``): the nicknames and street words below are
how people type, kept apart so that the demo tests the matcher instead of mirroring it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fieldrelay.sim import people
from fieldrelay.sim.people import SHOP_TZ, SimCustomer, awake, business_moment, random_span
from fieldrelay.sim.shop import SimDelivery

FORM_ID = "website"
HONEYPOT = "website_url"  # the hidden field of the shop's form: people leave it blank, bots fill it

RETURNING, UNCERTAIN, HOUSEHOLD, NEW = "returning", "uncertain", "household", "new"
KINDS = (RETURNING, UNCERTAIN, HOUSEHOLD, NEW)

# fmt: off
NICKNAMES = {
    "Robert": "Bob", "William": "Bill", "Richard": "Rick", "James": "Jim", "Joseph": "Joe", "Michael": "Mike",
    "Thomas": "Tom", "Daniel": "Dan", "David": "Dave", "Matthew": "Matt", "Anthony": "Tony", "Jennifer": "Jenny",
    "Patricia": "Trish", "Elizabeth": "Liz", "Barbara": "Barb", "Susan": "Sue", "Jessica": "Jess",
    "Stephanie": "Steph", "Amanda": "Mandy", "Sandra": "Sandy", "Melissa": "Missy",
}
SPELLED_OUT = {
    "Rd": "Road", "St": "Street", "Ln": "Lane", "Blvd": "Boulevard", "Dr": "Drive", "Ave": "Avenue",
    "W": "West", "S": "South", "E": "East", "N": "North",
}
SPOUSE_NAMES = ("Maria", "Mark", "Linda", "Greg", "Angela", "Steve", "Rachel", "Tony", "Denise", "Paul", "Yolanda",
                "Ray")
SERVICES = ("Water heater repair", "Drain cleaning", "Leak repair", "Toilet repair", "Water softener quote",
            "Garbage disposal replacement", "Sewer camera inspection", "Faucet replacement")
MESSAGES = ("", "Kitchen sink drains slowly again.", "Water heater is making a popping noise.",
            "Toilet in the guest bath keeps running.", "Small leak under the bathroom vanity.",
            "Would like a quote, no rush.", "Please call before coming, dog in the yard.",
            "Same problem as last time, tech was great.", "Low water pressure upstairs.")
# fmt: on
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class SimSubmission:
    """One website form submission: when it reaches the service, its fields, and who sent it."""

    deliver_at: datetime
    fields: dict[str, str]
    kind: str
    style: str  # how it was typed, in words
    about: str | None  # the Housecall Pro customer it is about (for HOUSEHOLD: whose household); None when NEW
    client_ip: str  # the visitor's address (documentation range 203.0.113.0/24)
    form_encoded: bool = False
    # A friend's referral: the referrer's phone (E.164); the driver fills in their code when it posts the form.
    referred_by: str | None = None

    @property
    def submission_id(self) -> str:
        """The form's id for this submission."""
        return self.fields["submission_id"]

    def encoded(self) -> tuple[bytes, str]:
        """The raw body and its content type, as the website posts it."""
        if self.form_encoded:
            return urlencode(self.fields).encode(), "application/x-www-form-urlencoded"
        return json.dumps(self.fields, separators=(",", ":")).encode(), "application/json"


Fields = dict[str, str]


def customers_of(deliveries: Sequence[SimDelivery]) -> list[tuple[datetime, SimCustomer]]:
    """The customers Housecall Pro created during the week, with when the shop heard of them."""
    found: list[tuple[datetime, SimCustomer]] = []
    for d in deliveries:
        if d.body.get("event") != "customer.created" or d.redelivery:
            continue
        c, address = d.body["customer"], d.body["customer"]["addresses"][0]
        customer = SimCustomer(
            id=c["id"],
            first_name=c["first_name"],
            last_name=c["last_name"],
            email=c["email"],
            mobile_number=c["mobile_number"],
            home_number=c["home_number"],
            lead_source=c["lead_source"],
            address_id=address["id"],
            street=address["street"],
            street_line_2=address["street_line_2"],
            zip=address["zip"],
        )
        found.append((d.deliver_at, customer))
    return sorted(found, key=lambda item: item[0])


# --- how people type ---------------------------------------------------------------------------------------------


def digits(number: str) -> str:
    """The ten digits of a US number in any format."""
    return "".join(ch for ch in number if ch.isdigit())[-10:]


def typed_phone(rng: random.Random, number: str, style: str | None = None) -> str:
    """A number as people type it into a form: 512.555.0142, +1 (512) 555 0142, 5125550142, …"""
    d = digits(number)
    a, b, c = d[:3], d[3:6], d[6:]
    styles = {
        "dotted": f"{a}.{b}.{c}",
        "plus": f"+1 ({a}) {b} {c}",
        "plain": f"{a}{b}{c}",
        "spaced": f"{a} {b} {c}",
        "tight": f"({a}){b}-{c}",
        "dashed": f"1-{a}-{b}-{c}",
    }
    return styles[style or rng.choice(sorted(styles))]


def spelled_out(street: str) -> str:
    """The street with its abbreviations written out: "W Oltorf St" -> "West Oltorf Street"."""
    return " ".join(SPELLED_OUT.get(word, word) for word in street.split())


def typed_unit(rng: random.Random, line_2: str) -> str:
    """The unit written another way than the vendor's: "#7" -> "Apt 7", "Apt 305" -> "#305"."""
    value = line_2.split()[-1].lstrip("#")
    return rng.choice([u for u in (f"Apt {value}", f"apt. {value}", f"#{value}", f"Unit {value}") if u != line_2])


def street_line(rng: random.Random, c: SimCustomer) -> str:
    """The street spelled out, with the unit (if any) typed on the same line."""
    line = spelled_out(c.street)
    return f"{line} {typed_unit(rng, c.street_line_2)}" if c.street_line_2 else line


def slip(rng: random.Random, word: str) -> str:
    """One keystroke wrong after the first letter: two letters swapped, one dropped or one doubled."""
    i = rng.randrange(1, len(word) - 1)
    swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return rng.choice([w for w in (swapped, word[:i] + word[i + 1 :], word[:i] + word[i] + word[i:]) if w != word])


def on_file(c: SimCustomer) -> str:
    """The number the shop has on file (the mobile, else the home line)."""
    number = c.mobile_number or c.home_number
    assert number is not None
    return number


def _has_phone(c: SimCustomer) -> bool:
    return bool(c.mobile_number or c.home_number)


def _slippable(c: SimCustomer) -> bool:
    return c.last_name.isalpha() and len(c.last_name) >= 5


# --- the kinds of submission -------------------------------------------------------------------------------------


def _nickname(rng: random.Random, c: SimCustomer) -> Fields:
    return {
        "name": f"{NICKNAMES[c.first_name]} {c.last_name}",
        "phone": typed_phone(rng, on_file(c), "dotted"),
        "address": street_line(rng, c),
        "zip": c.zip,
    }


def _unit_spelled(rng: random.Random, c: SimCustomer) -> Fields:
    return {
        "name": f"{c.first_name} {c.last_name}",
        "phone": typed_phone(rng, on_file(c), "plus"),
        "address": street_line(rng, c),
        "zip": c.zip,
    }


def _email_only(rng: random.Random, c: SimCustomer) -> Fields:
    assert c.email is not None
    local, domain = c.email.split("@")
    return {
        "first_name": c.first_name.lower(),
        "last_name": c.last_name.lower(),
        "email": f"{local.title()}@{domain.title()}",
        "street": spelled_out(c.street),
        "unit": typed_unit(rng, c.street_line_2) if c.street_line_2 else "",
        "city": "Austin",
        "state": "TX",
        "zip": c.zip,
    }


def _zip_only(rng: random.Random, c: SimCustomer) -> Fields:
    return {"name": f"{c.first_name} {c.last_name}", "phone": typed_phone(rng, on_file(c)), "zip": c.zip}


def _one_box(rng: random.Random, c: SimCustomer) -> Fields:
    return {
        "name": f"{c.first_name} {c.last_name}",
        "phone": typed_phone(rng, on_file(c)),
        "address": f"{street_line(rng, c)}, Austin, TX {c.zip}",
    }


def _surname_slip(rng: random.Random, c: SimCustomer) -> Fields:
    return {
        "name": f"{c.first_name} {slip(rng, c.last_name)}",
        "phone": typed_phone(rng, on_file(c)),
        "address": street_line(rng, c),
        "zip": c.zip,
    }


def _surname_only(rng: random.Random, c: SimCustomer) -> Fields:
    return {"first_name": "", "last_name": c.last_name, "phone": typed_phone(rng, on_file(c))}


def _slip_zip(rng: random.Random, c: SimCustomer) -> Fields:
    email = f"{c.first_name[0]}{c.last_name}{rng.randrange(10, 99)}@example.net".lower()
    return {"name": f"{c.first_name} {slip(rng, c.last_name)}", "email": email, "zip": c.zip}


def _spouse(rng: random.Random, c: SimCustomer) -> Fields:
    spouse = rng.choice([n for n in SPOUSE_NAMES if n[0] != c.first_name[0]])
    assert c.home_number is not None
    return {
        "name": f"{spouse} {c.last_name}",
        "phone": typed_phone(rng, c.home_number),
        "email": f"{spouse}.{c.last_name}@example.org".lower() if rng.random() < 0.5 else "",  # their own, or none
        "address": street_line(rng, c),
        "zip": c.zip,
    }


@dataclass(frozen=True)
class Recipe:
    """One kind of submission from a customer of the week: who it fits and how they type it."""

    kind: str
    style: str
    fits: Callable[[SimCustomer], bool]
    write: Callable[[random.Random, SimCustomer], Fields]


def _with_unit(c: SimCustomer) -> bool:
    return bool(c.street_line_2) and _has_phone(c)


def _with_email(c: SimCustomer) -> bool:
    return c.email is not None


def _with_nickname(c: SimCustomer) -> bool:
    return c.first_name in NICKNAMES and _has_phone(c)


def _slippable_with_phone(c: SimCustomer) -> bool:
    return _slippable(c) and _has_phone(c)


def _slippable_without_email(c: SimCustomer) -> bool:
    return _slippable(c) and c.email is None


def _with_landline(c: SimCustomer) -> bool:
    return c.home_number is not None


# In the order customers are drawn for them (the pickiest first); each customer is drawn once.
RECIPES = (
    Recipe(RETURNING, "unit written another way, phone as +1 (512) 555 0142", _with_unit, _unit_spelled),
    Recipe(RETURNING, "lower-case name, email only, address in separate boxes", _with_email, _email_only),
    Recipe(RETURNING, "nickname, dotted phone, street spelled out, no email", _with_nickname, _nickname),
    Recipe(RETURNING, "name, phone and ZIP code only", _has_phone, _zip_only),
    Recipe(RETURNING, "whole address in one box", _has_phone, _one_box),
    Recipe(RETURNING, "one-letter slip in the surname", _slippable_with_phone, _surname_slip),
    Recipe(UNCERTAIN, "surname and the phone on file, no first name", _has_phone, _surname_only),
    # The email is one the shop never had: a customer with none on file (with another one on file it is weaker still).
    Recipe(UNCERTAIN, "surname slip, ZIP code only, an email the shop never had", _slippable_without_email, _slip_zip),
    Recipe(HOUSEHOLD, "spouse: same address and landline, another first name", _with_landline, _spouse),
)


def _new_person(rng: random.Random, taken_names: set[str], taken_numbers: set[str]) -> Fields:
    """Someone the shop has never heard of, with a fictional number nobody in the week has."""
    first, last = rng.choice(people.FIRST_NAMES), rng.choice(people.LAST_NAMES)
    while f"{first} {last}" in taken_names:
        first, last = rng.choice(people.FIRST_NAMES), rng.choice(people.LAST_NAMES)
    taken_names.add(f"{first} {last}")
    free = [f"{a}555{n:04d}" for a in sorted(set(people.AREA_CODES)) for n in range(100, 200)]
    number = rng.choice([n for n in free if n not in taken_numbers])
    taken_numbers.add(number)
    street, zip_code = (
        f"{rng.randrange(100, 9999)} {spelled_out(rng.choice(people.STREETS))}",
        rng.choice(people.AUSTIN_ZIPS),
    )
    fields = {"name": f"{first} {last}", "phone": typed_phone(rng, number)}
    if rng.random() < 0.6:
        fields["email"] = f"{first}.{last}@{rng.choice(people.EMAIL_DOMAINS)}".lower().replace("'", "")
    if rng.random() < 0.5:
        fields["address"] = f"{street}, Austin, TX {zip_code}"
    else:
        fields.update(address=street, zip=zip_code)
    return fields


def _moment(rng: random.Random, after: datetime, limit: datetime) -> datetime:
    """When someone fills in the form: mostly in business hours, else in the evening or the next morning."""
    if rng.random() < 0.3:
        moment = awake(rng, after + random_span(rng, 0, (limit - after).total_seconds()))
        if moment <= limit:
            return moment
    return business_moment(rng, after, limit) or after


def build_leads(
    deliveries: Sequence[SimDelivery], start: datetime, seed: int = 7, new_people: int = 3
) -> list[SimSubmission]:
    """Return the week's website form submissions, sorted by deliver_at, for the week ``deliveries`` belong to."""
    rng = random.Random(f"fieldrelay-leads-{seed}")
    start = start.astimezone(UTC)
    limit = start + WEEK - timedelta(hours=3)  # the last submissions are applied well before the week ends
    # Someone writes again at least two hours after the shop first heard of them; the pool holds the customers for
    # whom that is still before Friday 15:00 (the week starts on a Monday at 07:00), so business hours remain.
    last_call = limit - timedelta(days=2, hours=13)
    known = customers_of(deliveries)
    pool = [(after, c) for after, c in ((at + timedelta(hours=2), c) for at, c in known) if after <= last_call]
    drafts: list[tuple[datetime, Fields, str, str, str | None]] = []
    for recipe in RECIPES:
        candidates = [item for item in pool if recipe.fits(item[1])]
        if not candidates:
            continue
        after, customer = rng.choice(candidates)
        pool.remove((after, customer))
        drafts.append((_moment(rng, after, limit), recipe.write(rng, customer), recipe.kind, recipe.style, customer.id))
    names = {f"{c.first_name} {c.last_name}" for _, c in known}
    numbers = {digits(n) for _, c in known for n in (c.mobile_number, c.home_number) if n}
    for _ in range(new_people):
        fields = _new_person(rng, names, numbers)
        drafts.append((_moment(rng, start + timedelta(hours=1), limit), fields, NEW, "someone new", None))
    drafts.sort(key=lambda d: d[0])
    addresses = rng.sample(range(2, 254), len(drafts))
    submissions = []
    for n, ((at, fields, kind, style, about), host) in enumerate(zip(drafts, addresses, strict=True), start=1):
        local = at.astimezone(SHOP_TZ)
        body = {
            "form": FORM_ID,
            "submission_id": f"sub_{local:%Y%m%d}_{n:04d}",
            "submitted_at": local.isoformat(timespec="seconds"),
            **fields,
            "service": rng.choice(SERVICES),
            "message": rng.choice(MESSAGES),
            HONEYPOT: "",
        }
        submissions.append(
            SimSubmission(
                deliver_at=at + random_span(rng, 1, 5),
                fields=body,
                kind=kind,
                style=style,
                about=about,
                client_ip=f"203.0.113.{host}",
                form_encoded=rng.random() < 0.35,
            )
        )
    return submissions
