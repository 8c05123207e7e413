"""Seeded synthetic customer records of a home-services shop, with the truth of who is who.

The same homeowner reaches the shop through a web form, a phone call, a marketplace lead and the field-service
platform: phones in different formats, "123 Main Street Apt 4" next to "123 main st #4", one-letter typos, nicknames,
missing emails, a second email, a move. Households of two adults share the address and often the last name and a
landline, sometimes a family email. A few households hold a father and son of one name.

This module is written apart from ``fieldrelay.domain.identity.match`` on purpose: it imports nothing from it and keeps
its own name lists, nickname list (with nicknames the matcher's table does not know), street vocabulary and error model,
so the matcher cannot be tuned to a table it shares with its test data.

    records = generate(100_000, seed=7)
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field


def _words(text: str) -> list[str]:
    return text.split()


MALE = _words(
    "james robert john michael david william richard joseph thomas christopher charles daniel matthew anthony "
    "mark donald steven andrew paul joshua kenneth kevin brian george timothy ronald jason edward jeffrey ryan "
    "jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory alexander "
    "patrick frank raymond jack dennis jerry tyler aaron jose adam nathan henry zachary douglas peter kyle noah "
    "ethan jeremy walter christian keith roger terry austin sean gerald carl harold dylan arthur lawrence jordan "
    "jesse bryan billy bruce gabriel joe logan alan juan albert willie elijah wayne randy vincent mason roy "
    "ralph bobby russell bradley philip eugene louis travis hunter luis miguel carlos leonard maxwell theodore "
    "dale curtis victor marcus wesley todd shane craig derek troy cody caleb isaac owen luke evan ian connor maximilian"
)
FEMALE = _words(
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty sandra margaret "
    "ashley kimberly emily donna michelle carol amanda melissa deborah stephanie dorothy rebecca sharon laura "
    "cynthia amy kathleen angela shirley brenda emma anna pamela nicole samantha katherine christine helen debra "
    "rachel carolyn janet maria catherine heather diane olivia julie joyce victoria ruth virginia lauren kelly "
    "christina joan evelyn judith andrea hannah megan cheryl jacqueline martha madison teresa gloria sara janice "
    "ann kathryn abigail sophia frances jean alice judy isabella julia grace amber denise danielle marilyn "
    "beverly charlotte natalie theresa diana brittany doris kayla alexis lori marie tiffany rose crystal monica "
    "erin valerie holly leslie wendy megan tara allison courtney vanessa caroline jill renee gina paula yolanda"
)
SURNAMES = _words(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson "
    "anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark ramirez lewis "
    "robinson walker young allen king wright scott torres nguyen hill flores green adams nelson baker hall rivera "
    "campbell mitchell carter roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart "
    "morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard ramos kim "
    "cox ward richardson watson brooks chavez wood james bennett gray mendoza ruiz hughes price alvarez castillo "
    "sanders patel myers long ross foster jimenez powell jenkins perry russell sullivan bell coleman butler "
    "henderson barnes gonzales fisher vasquez simmons romero jordan patterson alexander hamilton graham reynolds "
    "griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar stevens murray ford "
    "castro marshall owens harrison fernandez mcdonald woods washington kennedy wells vargas henry chen freeman "
    "webb tucker guzman burns crawford olson simpson porter hunter gordon mendez silva shaw snyder mason dixon "
    "munoz hunt hicks holmes palmer wagner black robertson boyd rose stone salazar fox warren mills meyer rice "
    "schmidt garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn kelley spencer "
    "hawkins arnold pierce vazquez hansen peters santos hart bradley knight elliott cunningham duncan armstrong "
    "hudson carroll lane riley andrews alvarado ray delgado berry perkins hoffman johnston matthews pena richards "
    "contreras willis carpenter lawrence sandoval obrien o'connor mcallister vanburen de-la-cruz smith-jones"
)
SYLLABLES = _words("bar ber ko ven dal mor ling ston ash wick hal ford ley ton mer rig an sel dor kin vas tro pel quin")

# The generator's own nickname list: some the matcher's table has, some it does not (gabe, izzy, max, sophie, ally).
# fmt: off
NICKNAMES = {
    "william": ["Bill", "Will", "Billy"], "robert": ["Bob", "Rob", "Bobby"], "michael": ["Mike"],
    "james": ["Jim", "Jimmy"], "john": ["Jack", "Johnny"], "joseph": ["Joe", "Joey"], "thomas": ["Tom", "Tommy"],
    "richard": ["Rick", "Rich", "Dick"], "charles": ["Charlie", "Chuck"], "christopher": ["Chris"],
    "daniel": ["Dan", "Danny"], "matthew": ["Matt"], "anthony": ["Tony"], "andrew": ["Andy", "Drew"],
    "steven": ["Steve"], "stephen": ["Steve"], "kenneth": ["Ken"], "timothy": ["Tim"], "jeffrey": ["Jeff"],
    "edward": ["Ed", "Eddie", "Ted"], "benjamin": ["Ben"], "samuel": ["Sam"], "gregory": ["Greg"],
    "alexander": ["Alex"], "nicholas": ["Nick"], "jonathan": ["Jon"], "patrick": ["Pat"], "gabriel": ["Gabe"],
    "maxwell": ["Max"], "theodore": ["Ted", "Theo"], "zachary": ["Zach"], "lawrence": ["Larry"],
    "raymond": ["Ray"], "elizabeth": ["Liz", "Beth", "Betsy"], "margaret": ["Peggy", "Maggie"],
    "patricia": ["Pat", "Patty", "Trish"], "jennifer": ["Jen", "Jenny"], "susan": ["Sue", "Susie"],
    "deborah": ["Deb", "Debbie"], "rebecca": ["Becky"], "katherine": ["Kate", "Katie", "Kathy"],
    "kathleen": ["Kathy"], "catherine": ["Cathy", "Kate"], "stephanie": ["Steph"], "victoria": ["Vicky", "Tori"],
    "abigail": ["Abby"], "samantha": ["Sam"], "isabella": ["Izzy", "Bella"], "sophia": ["Sophie"],
    "allison": ["Ally"], "jacqueline": ["Jackie"], "kimberly": ["Kim"], "pamela": ["Pam"], "cynthia": ["Cindy"],
    "maximilian": ["Max"], "frederick": ["Fred", "Freddie"], "douglas": ["Doug"], "jeremy": ["Jerry"],
    "leonard": ["Leo", "Len"], "russell": ["Russ"], "bradley": ["Brad"], "vincent": ["Vince"], "ronald": ["Ron"],
    "eugene": ["Gene"], "harold": ["Hal"], "gerald": ["Gerry", "Jerry"], "philip": ["Phil"],
    "nathan": ["Nate"], "caroline": ["Carrie"], "judith": ["Judy"], "dorothy": ["Dot"],
    "natalie": ["Nat"], "rachel": ["Rae"], "jessica": ["Jess", "Jessie"], "christina": ["Tina", "Chrissy"],
    "theresa": ["Tess"], "frances": ["Fran"], "vanessa": ["Nessa"], "valerie": ["Val"], "courtney": ["Court"],
}
# Marketplaces that hand on a lead with a masked (proxy) phone that rings through to the homeowner and a relay email
# that forwards: the domains are made up here, the matcher must recognise them by pattern or by the lead source.
RELAY_DOMAINS = ["messaging.yelp.com", "relay.thumbtack.com", "leads.angi.com", "reply.houzz.com"]
# fmt: on
STREET_WORDS = _words(
    "oak maple cedar elm pine main park lake hill washington lincoln jefferson madison jackson franklin walnut "
    "willow cherry spring river sunset highland forest meadow ridge valley mesquite bluebonnet pecan cypress "
    "magnolia hickory juniper laurel live-oak shady quail dove hawk eagle fox deer stonegate brookside creekview "
    "lakeview parkview hillcrest fairview greenway kingsley windsor oxford cambridge sheffield rosewood briarwood "
    "wildwood cottonwood sycamore aspen birch chestnut mulberry poplar redbud sierra vista mesa canyon rio grande "
    "pueblo alamo travis lamar guadalupe congress burnet"
)
# (full, abbreviations seen in the wild)
# fmt: off
SUFFIXES = [
    ("Street", ["St", "St.", "ST", "Str"]), ("Avenue", ["Ave", "Ave.", "Av"]), ("Road", ["Rd", "Rd."]),
    ("Drive", ["Dr", "Dr."]), ("Lane", ["Ln"]), ("Court", ["Ct"]), ("Place", ["Pl"]), ("Boulevard", ["Blvd"]),
    ("Circle", ["Cir"]), ("Trail", ["Trl"]), ("Way", ["Way"]), ("Parkway", ["Pkwy"]), ("Cove", ["Cv"]),
    ("Terrace", ["Ter"]), ("Loop", ["Loop"]),
]
# fmt: on
DIRECTIONS = [("North", "N"), ("South", "S"), ("East", "E"), ("West", "W")]
UNIT_FORMS = ["Apt {u}", "Apt. {u}", "#{u}", "# {u}", "Unit {u}", "APT {u}", "apt {u}", "Suite {u}"]
# fmt: off
PHONE_FORMS = [
    "({a}) {e}-{n}", "{a}-{e}-{n}", "{a}.{e}.{n}", "{a}{e}{n}", "+1 {a} {e} {n}", "1-{a}-{e}-{n}", "+1{a}{e}{n}",
    "{a} {e} {n}",
]
# fmt: on
AREA_CODES = ["512", "737", "210", "830", "254"]
EMAIL_DOMAINS = ["gmail.com"] * 6 + ["yahoo.com"] * 2 + ["outlook.com", "hotmail.com", "icloud.com", "att.net"]
CITIES = ["Austin", "Round Rock", "Pflugerville", "Cedar Park", "Georgetown", "Leander", "Kyle", "Buda", "Manor"]
# A slip of the finger: each letter's neighbours on its keyboard row.
KEYBOARD = {
    row[i]: row[max(i - 1, 0) : i] + row[i + 1 : i + 2]
    for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    for i in range(len(row))
}


@dataclass(frozen=True)
class Record:
    """One customer record as a channel delivers it (raw formats), and who it really is (``person_id``)."""

    record_id: int
    person_id: int
    household_id: int
    source: str
    first_name: str | None
    last_name: str | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    street: str | None
    unit: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    # What this record shows differently from the person's plain record (``VARIATIONS``): the bench breaks its
    # misses down by them. Recorded as the record is rendered, with no draw of its own (the data do not change).
    variations: frozenset[str] = frozenset()


# The variations a record is tagged with, as the bench's miss table names them.
VARIATIONS = (
    "nickname",
    "first name typo",
    "surname typo",
    "surname initial",
    "LAST, FIRST in one box",
    "boxes swapped",
    "no first name",
    "Jr on the record",
    "masked phone",
    "tracking number",
    "work phone",
    "relay email",
    "no street (ZIP only)",
    "no street, no ZIP",
    "no ZIP",
    "unit left out",
    "house number typo",
    "street typo",
    "moved",
)


@dataclass
class _Home:
    number: int
    street: tuple[str | None, str, int]  # (direction, word, suffix index)
    unit: str | None
    zip5: str
    city: str


@dataclass
class _Adult:
    person_id: int
    household_id: int
    first: str
    last: str
    suffix: str
    mobile: str | None
    landline: str | None
    emails: list[str]
    home: _Home
    moved_to: _Home | None = None
    nickname: str | None = None
    work: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _zipf_weights(n: int, exponent: float) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, n + 1)]


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.male_w = _zipf_weights(len(MALE), 0.75)
        self.female_w = _zipf_weights(len(FEMALE), 0.75)
        self.surname_w = _zipf_weights(len(SURNAMES), 0.7)
        rng = self.rng
        self.zips = [(f"78{rng.randint(600, 799)}", rng.choice(CITIES)) for _ in range(40)]
        self.streets = [
            (rng.choice(DIRECTIONS)[0] if rng.random() < 0.1 else None, rng.choice(STREET_WORDS), rng.randrange(15))
            for _ in range(2400)
        ]
        self.buildings = [(rng.randint(100, 9999), rng.choice(self.streets), rng.choice(self.zips)) for _ in range(300)]
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        # A marketplace's call-tracking numbers: a few numbers forwarding many leads to the shop, so one number is on
        # the records of many different people (a hard negative for "same phone").
        self.tracking = [self.phone() for _ in range(8)]

    def surname(self) -> str:
        if self.rng.random() < 0.25:
            return "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 3)))
        return self.rng.choices(SURNAMES, self.surname_w)[0]

    def given(self, female: bool) -> str:
        names, weights = (FEMALE, self.female_w) if female else (MALE, self.male_w)
        return self.rng.choices(names, weights)[0]

    def phone(self) -> str:
        while True:
            number = f"{self.rng.choice(AREA_CODES)}{self.rng.randint(201, 989)}{self.rng.randint(0, 9999):04d}"
            if number[3:6] not in ("555", "211", "311", "411", "511", "611", "711", "811", "911") and (
                number not in self.used_phones
            ):
                self.used_phones.add(number)
                return number

    def home(self) -> _Home:
        rng = self.rng
        if rng.random() < 0.3:
            number, street, (zip5, city) = rng.choice(self.buildings)
            return _Home(number, street, str(rng.randint(1, 4) * 100 + rng.randint(1, 40)), zip5, city)
        zip5, city = rng.choice(self.zips)
        return _Home(rng.randint(100, 19999), rng.choice(self.streets), None, zip5, city)

    def email(self, first: str, last: str) -> str:
        rng = self.rng
        last_plain = last.replace("'", "").replace("-", "")
        local = rng.choice(
            [
                f"{first}.{last_plain}",
                f"{first[0]}{last_plain}",
                f"{first}{last_plain}{rng.randint(1, 99)}",
                f"{first}_{rng.randint(1960, 2004)}",
                f"{last_plain}.{first[0]}{rng.randint(1, 9)}",
            ]
        )
        return self.mailbox(local, rng.choice(EMAIL_DOMAINS))

    def mailbox(self, local: str, domain: str) -> str:
        address = f"{local}@{domain}"
        while address in self.used_emails:  # a mailbox belongs to one person (or one family): digits are added
            address = f"{local}{self.rng.randint(1, 999)}@{domain}"
        self.used_emails.add(address)
        return address

    def household(self, household_id: int, first_person_id: int) -> list[_Adult]:
        rng = self.rng
        home = self.home()
        last = self.surname()
        landline = self.phone() if rng.random() < 0.3 else None
        kind = rng.random()
        adults: list[_Adult] = []
        if kind < 0.004:  # father and son of one name
            first = self.given(False)
            for i, suffix in enumerate(("", "Jr")):
                adults.append(self.adult(first_person_id + i, household_id, first, last, home, landline, suffix))
        elif kind < 0.38:  # two adults
            female_first = rng.random() < 0.5
            second_last = last if rng.random() < 0.75 else self.surname()
            adults.append(self.adult(first_person_id, household_id, self.given(female_first), last, home, landline))
            adults.append(
                self.adult(first_person_id + 1, household_id, self.given(not female_first), second_last, home, landline)
            )
            if rng.random() < 0.1:  # one family email on both
                plain = last.replace("'", "").replace("-", "")
                family = self.mailbox(f"the{plain}family", "gmail.com")
                for adult in adults:
                    adult.emails.insert(0, family)
        else:
            adults.append(
                self.adult(first_person_id, household_id, self.given(rng.random() < 0.5), last, home, landline)
            )
        return adults

    def adult(
        self,
        person_id: int,
        household_id: int,
        first: str,
        last: str,
        home: _Home,
        landline: str | None,
        suffix: str = "",
    ) -> _Adult:
        rng = self.rng
        emails = [self.email(first, last)] if rng.random() < 0.75 else []
        if emails and rng.random() < 0.15:
            emails.append(self.email(first, last))
        mobile = self.phone() if rng.random() < 0.92 else None
        if mobile is None and landline is None:
            landline = self.phone()  # everyone can be reached by phone: no mobile, then a home phone
        adult = _Adult(person_id, household_id, first, last, suffix, mobile, landline, emails, home)
        if rng.random() < 0.08:
            adult.moved_to = self.home()
        if rng.random() < 0.15:
            adult.work = self.phone()  # an office line, given on some records instead of the mobile
        options = NICKNAMES.get(first)
        if options and rng.random() < 0.6:
            adult.nickname = rng.choice(options)  # the name this person goes by, used on some records
        return adult

    # --- rendering one record of an adult, as one channel would deliver it ------------------------------------------

    def typo(self, word: str) -> str:
        rng = self.rng
        if len(word) < 4:
            return word
        i = rng.randrange(1, len(word) - 1)
        op = rng.random()
        if op < 0.3:
            return word[:i] + word[i + 1 :]
        if op < 0.55:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if op < 0.8:
            c = word[i].lower()
            return word[:i] + rng.choice(KEYBOARD.get(c) or string.ascii_lowercase) + word[i + 1 :]
        return word[:i] + rng.choice(string.ascii_lowercase) + word[i:]

    def case(self, text: str) -> str:
        r = self.rng.random()
        if r < 0.7:
            return " ".join(part.capitalize() for part in text.split(" "))
        return text.upper() if r < 0.85 else text.lower()

    def render_phone(self, digits: str) -> str:
        return self.rng.choice(PHONE_FORMS).format(a=digits[:3], e=digits[3:6], n=digits[6:])

    def render_street(self, home: _Home, unit_inline: bool, tags: set[str]) -> tuple[str, str | None]:
        rng = self.rng
        direction, word, suffix_index = home.street
        full, abbreviations = SUFFIXES[suffix_index]
        parts = [self.house_number(home.number)]
        if parts[0] != str(home.number):
            tags.add("house number typo")
        if direction:
            parts.append(direction if rng.random() < 0.5 else dict(DIRECTIONS)[direction])
        name = word.replace("-", " ")
        parts.append(self.typo(name) if rng.random() < 0.03 else name)
        if parts[-1] != name:
            tags.add("street typo")
        parts.append(full if rng.random() < 0.4 else rng.choice(abbreviations))
        street = self.case(" ".join(parts))
        unit = None
        if home.unit and rng.random() > 0.1:  # the unit is left out one time in ten
            unit = rng.choice(UNIT_FORMS).format(u=home.unit)
            if unit_inline:
                street, unit = f"{street}{',' if rng.random() < 0.3 else ''} {unit}", None
        elif home.unit:
            tags.add("unit left out")
        return street, unit

    def house_number(self, number: int) -> str:
        """A house number as typed: now and then a digit slips or two are swapped."""
        text = str(number)
        if self.rng.random() < 0.03 and len(text) >= 2:
            i = self.rng.randrange(len(text) - 1)
            if self.rng.random() < 0.5:
                text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
            else:
                text = text[:i] + str((int(text[i]) + self.rng.choice((1, 9))) % 10 or 1) + text[i + 1 :]
        return text

    def names(self, adult: _Adult, source: str, tags: set[str]) -> tuple[str | None, str | None]:
        """First and last name as a channel shows them: marketplaces give "Jane S.", exports and call logs
        "SMITH, JANE" in one box, a hurried form the two boxes swapped."""
        rng = self.rng
        first = adult.nickname if adult.nickname and rng.random() < 0.5 else adult.first
        if first != adult.first:
            tags.add("nickname")
        if rng.random() < 0.05:
            given = first
            first = self.typo(first)
            if first != given:
                tags.add("first name typo")
        last = self.typo(adult.last) if rng.random() < 0.05 else adult.last
        if last != adult.last:
            tags.add("surname typo")
        if adult.suffix and rng.random() < 0.5:
            last = f"{last} {adult.suffix}"
            tags.add("Jr on the record")
        if rng.random() < 0.02:
            tags.add("no first name")
            return None, self.case(last)
        if source == "marketplace" and rng.random() < 0.5:
            tags.add("surname initial")
            return self.case(first), f"{last[0].upper()}."
        if source in ("call", "fsp") and rng.random() < 0.12:
            tags.add("LAST, FIRST in one box")
            whole = f"{last}, {first}".upper() if rng.random() < 0.5 else f"{self.case(last)}, {self.case(first)}"
            return (whole, None) if rng.random() < 0.7 else (None, whole)
        if rng.random() < 0.02:
            tags.add("boxes swapped")
            return self.case(last), self.case(first)
        return self.case(first), self.case(last)

    def record(self, record_id: int, adult: _Adult, source: str, duplicate: bool) -> Record:
        rng = self.rng
        tags: set[str] = set()
        first_out, last_out = self.names(adult, source, tags)
        home = adult.moved_to if duplicate and adult.moved_to else adult.home
        if home is not adult.home:
            tags.add("moved")

        phones: list[str] = []
        # Home-services channels nearly always carry a phone: booking forms require one, marketplace leads pass it
        # on (often masked), a call shows caller ID. The mobile is left out when the landline is given instead.
        proxied = source == "marketplace" and rng.random() < 0.5
        if proxied:
            phones.append(rng.choice(self.tracking) if rng.random() < 0.3 else self.phone())
            tags.add("tracking number" if phones[0] in self.tracking else "masked phone")
        elif adult.work and rng.random() < 0.3:
            phones.append(adult.work)
            tags.add("work phone")
        elif adult.mobile and rng.random() < 0.92:
            phones.append(adult.mobile)
        if not proxied and adult.landline and rng.random() < (0.7 if source == "call" else 0.35):
            phones.append(adult.landline)
        want_email = {"form": 0.95, "marketplace": 0.8, "fsp": 0.7, "call": 0.15}[source]
        emails = [rng.choice(adult.emails)] if adult.emails and rng.random() < want_email else []
        if source == "marketplace" and rng.random() < 0.5:
            token = "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(12))
            emails = [f"{token}@{rng.choice(RELAY_DOMAINS)}"]
            tags.add("relay email")
        if not phones and not emails:  # a lead nobody can contact is no lead: each record has a phone or email
            phones.append(adult.mobile or adult.landline or "")

        street: str | None = None
        unit: str | None = None
        with_address = {"form": 0.75, "marketplace": 0.35, "fsp": 1.0, "call": 0.8}[source]
        if rng.random() < with_address:
            street, unit = self.render_street(home, rng.random() < 0.6, tags)
        zip_out: str | None = home.zip5 if rng.random() > 0.05 else None
        if street is None:
            tags.add("no street (ZIP only)" if zip_out else "no street, no ZIP")
        elif zip_out is None:
            tags.add("no ZIP")
        if zip_out and rng.random() < 0.1:
            zip_out = f"{zip_out}-{rng.randint(1000, 9999)}"
        city = self.case(home.city) if street and rng.random() < 0.9 else None
        return Record(
            record_id,
            adult.person_id,
            adult.household_id,
            source,
            first_out,
            last_out,
            tuple(self.render_phone(p) for p in phones),
            tuple(self.case(e) if rng.random() < 0.1 else e for e in emails),
            street,
            unit,
            city,
            "TX" if street and rng.random() < 0.8 else None,
            zip_out,
            frozenset(tags),
        )


def generate(size: int, seed: int = 7, duplicate_share: float = 0.15) -> list[Record]:
    """``size`` records, about ``duplicate_share`` of them further records of a person already in the set, shuffled."""
    gen = _Generator(seed)
    rng = gen.rng
    adults: list[_Adult] = []
    target_people = int(size * (1 - duplicate_share))
    household_id = 0
    while len(adults) < target_people:
        adults.extend(gen.household(household_id, len(adults)))
        household_id += 1
    adults = adults[:target_people]
    sources = ["form", "call", "marketplace", "fsp"]
    weights = [0.3, 0.25, 0.15, 0.3]
    records = [gen.record(i, adult, rng.choices(sources, weights)[0], False) for i, adult in enumerate(adults)]
    while len(records) < size:
        adult = rng.choice(adults)
        records.append(gen.record(len(records), adult, rng.choices(sources, weights)[0], True))
    rng.shuffle(records)
    return records
