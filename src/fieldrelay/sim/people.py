"""Who and when for the shop simulator: customers, technicians, Austin TX addresses, phones, shop hours.

Phone numbers use the 555-0100..555-0199 block that US numbering reserves for fiction, and e-mail
addresses use the reserved example.* domains, so a simulated run can never reach a real person.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# fmt: off
FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley", "Jose", "Emily",
    "Luis", "Maria", "Kevin", "Michelle", "Brian", "Amanda", "Juan", "Melissa", "Tyler", "Stephanie",
    "Priya", "Wei", "Hannah", "Andre", "Keisha", "Diego", "Rosa", "Trevor", "Megan", "Minh",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Patel", "O'Brien", "Reyes", "Tran", "Castillo", "Washington", "Kowalski", "Schmidt", "Delgado", "Chen",
)
TECH_NAMES = (
    ("Mike", "Dawson"), ("Rudy", "Salinas"), ("Travis", "Boyd"), ("Hector", "Ibarra"), ("Jake", "Whitfield"),
    ("Marcus", "Bell"), ("Omar", "Haddad"), ("Cody", "Pruitt"), ("Luis", "Cantu"), ("Dwayne", "Greer"),
    ("Sam", "Okafor"), ("Beto", "Villarreal"),
)
STREETS = (
    "Burnet Rd", "S Lamar Blvd", "Manor Rd", "E Cesar Chavez St", "Guadalupe St", "W 38th St", "Airport Blvd",
    "Duval St", "Shoal Creek Blvd", "Brodie Ln", "William Cannon Dr", "Slaughter Ln", "W Parmer Ln",
    "Spicewood Springs Rd", "Mesa Dr", "Far West Blvd", "Rundberg Ln", "Cameron Rd", "E Riverside Dr",
    "W Oltorf St", "S Congress Ave", "Berkman Dr", "Loyola Ln", "Anderson Mill Rd", "Escarpment Blvd",
    "Menchaca Rd", "Springdale Rd", "Woodrow Ave", "Exposition Blvd", "Pleasant Valley Rd",
)
AUSTIN_ZIPS = (
    "78701", "78702", "78703", "78704", "78705", "78717", "78721", "78722", "78723", "78724", "78727",
    "78728", "78729", "78731", "78735", "78739", "78741", "78744", "78745", "78748", "78749", "78750",
    "78751", "78752", "78753", "78754", "78756", "78757", "78758", "78759",
)
AREA_CODES = ("512", "512", "512", "737")
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
LEAD_SOURCES = ("Google", "Google", "Referral", "Yelp", "Nextdoor", "Website", "Facebook", "Angi")
# fmt: on

SHOP_TZ = ZoneInfo("America/Chicago")
OPEN, CLOSE = time(8, 0), time(17, 0)  # business hours, shop-local


def iso(moment: datetime) -> str:
    """Format a datetime as ISO-8601 UTC with a Z suffix, second precision."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at_or_before(moment: datetime | None, at: datetime) -> bool:
    """Tell whether ``moment`` has happened by ``at``."""
    return moment is not None and moment <= at


def random_span(rng: random.Random, low: float, high: float) -> timedelta:
    """Return a random whole-second duration between ``low`` and ``high`` seconds."""
    return timedelta(seconds=rng.randint(int(low), max(int(low), int(high))))


def local_at(day: datetime, clock: time) -> datetime:
    """Return the UTC instant of ``clock`` on the shop-local date of ``day``."""
    return datetime.combine(day.astimezone(SHOP_TZ).date(), clock, SHOP_TZ).astimezone(UTC)


def local_clock(moment: datetime) -> time:
    """Return the shop-local wall-clock time of ``moment``."""
    return moment.astimezone(SHOP_TZ).time()


def business_moment(rng: random.Random, low: datetime, high: datetime) -> datetime | None:
    """Return a uniformly drawn business-hours instant in [low, high], or None if there is none."""
    spans: list[tuple[datetime, int]] = []
    day = low
    while local_at(day, OPEN) <= high:
        if day.astimezone(SHOP_TZ).weekday() < 5:
            a, b = max(low, local_at(day, OPEN)), min(high, local_at(day, CLOSE))
            if b > a:
                spans.append((a, int((b - a).total_seconds())))
        day = local_at(day, OPEN) + timedelta(days=1)
    total = sum(length for _, length in spans)
    if total <= 0:
        return None
    pick = rng.randrange(total)
    for begin, length in spans:
        if pick < length:
            return begin + timedelta(seconds=pick)
        pick -= length
    return None  # pragma: no cover - unreachable


def awake(rng: random.Random, moment: datetime) -> datetime:
    """Move a customer's own action (paying, deciding) out of the night to the next morning."""
    local = moment.astimezone(SHOP_TZ)
    if 7 <= local.hour < 22:
        return moment
    morning = local.date() + timedelta(days=1 if local.hour >= 22 else 0)
    return datetime.combine(morning, time(7, 0), SHOP_TZ).astimezone(UTC) + random_span(rng, 0, 3 * 3600)


@dataclass(frozen=True)
class SimCustomer:
    """A customer as Housecall Pro knows them."""

    id: str
    first_name: str
    last_name: str
    email: str | None
    mobile_number: str | None
    home_number: str | None
    lead_source: str
    address_id: str
    street: str
    street_line_2: str | None
    zip: str

    def summary(self) -> dict[str, Any]:
        """Return the customer block embedded in job and estimate payloads."""
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "mobile_number": self.mobile_number,
            "home_number": self.home_number,
        }

    def address(self) -> dict[str, Any]:
        """Return the service address block embedded in job and estimate payloads."""
        return {
            "street": self.street,
            "street_line_2": self.street_line_2,
            "city": "Austin",
            "state": "TX",
            "zip": self.zip,
        }

    def full(self) -> dict[str, Any]:
        """Return the object of a `customer.*` event."""
        return {
            **self.summary(),
            "lead_source": self.lead_source,
            "tags": [],
            "addresses": [{"id": self.address_id, **self.address(), "country": "US"}],
        }


@dataclass(frozen=True)
class SimTechnician:
    """A field employee assigned to jobs."""

    id: str
    first_name: str
    last_name: str

    def employee(self) -> dict[str, Any]:
        """Return the `assigned_employees` entry."""
        return {"id": self.id, "first_name": self.first_name, "last_name": self.last_name}


def vendor_id(rng: random.Random, prefix: str) -> str:
    """Return a Housecall Pro style id such as ``job_3f9a…``."""
    return f"{prefix}_{rng.getrandbits(64):016x}"


class PhoneBook:
    """Hands out unique fictional phone numbers in the formats people actually type."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[tuple[str, int]] = set()

    def number(self) -> str:
        """Return a new number formatted as (512) 555-0142, 512-555-0142 or +15125550142."""
        for _ in range(1000):  # 200 fictional numbers exist; after that, repeats are allowed
            key = (self._rng.choice(AREA_CODES), self._rng.randrange(100, 200))
            if key not in self._used:
                break
        self._used.add(key)
        area, line = key[0], f"{key[1]:04d}"
        style = self._rng.random()
        if style < 0.4:
            return f"({area}) 555-{line}"
        if style < 0.75:
            return f"{area}-555-{line}"
        return f"+1{area}555{line}"


def make_customer(rng: random.Random, phones: PhoneBook) -> SimCustomer:
    """Return a new customer with a realistic name, Austin address and some contact details."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    mobile = phones.number() if rng.random() < 0.85 else None
    home = phones.number() if mobile is None or rng.random() < 0.25 else None
    email = None
    if rng.random() < 0.6:
        local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randrange(10, 99)}"))
        email = local.lower().replace("'", "") + "@" + rng.choice(EMAIL_DOMAINS)
    unit = rng.choice(("Apt 2B", "Unit 114", "Apt 305", "#7")) if rng.random() < 0.15 else None
    return SimCustomer(
        id=vendor_id(rng, "cus"),
        first_name=first,
        last_name=last,
        email=email,
        mobile_number=mobile,
        home_number=home,
        lead_source=rng.choice(LEAD_SOURCES),
        address_id=vendor_id(rng, "adr"),
        street=f"{rng.randrange(100, 9999)} {rng.choice(STREETS)}",
        street_line_2=unit,
        zip=rng.choice(AUSTIN_ZIPS),
    )


def make_technicians(rng: random.Random, count: int) -> list[SimTechnician]:
    """Return ``count`` technicians with stable names."""
    techs = []
    for i in range(count):
        first, last = TECH_NAMES[i % len(TECH_NAMES)]
        if i >= len(TECH_NAMES):
            last = f"{last} {i // len(TECH_NAMES) + 1}"
        techs.append(SimTechnician(id=vendor_id(rng, "pro"), first_name=first, last_name=last))
    return techs
