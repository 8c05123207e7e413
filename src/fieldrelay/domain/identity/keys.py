"""Normal forms used by identity matching: names, nicknames, street addresses, postal codes.

Pure string functions and small tables; ``identity.py`` builds match keys and scores from them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from nicknames import NickNamer


def _words(text: str) -> list[str]:
    return text.split()


# --- names -------------------------------------------------------------------------------------------------------

# Why a table of our own beside the library: the maintained dataset on PyPI (``nicknames``, ~2,700 name pairs) relates
# names many-to-many across genders ("chris" for christopher, christina and crystal; "al" for albert, alyssa and
# jalen). A matcher that merges on such a relation turns spouses into one person, which is the error this module must
# not make. So: a short, directed table, formal name -> the nicknames that mean it, of the common US names, and from the
# dataset only the direction nickname -> formal name (``dataset_formals``), never two names through a third. Two
# different formal names are never made compatible by it (christopher vs christina stays "different"); a nickname is
# compatible with each formal name it abbreviates, and two nicknames of one formal name with each other (bob, rob).
_NICKNAMES: dict[str, tuple[str, ...]] = {
    "abigail": ("abby", "abbie", "gail"),
    "albert": ("al", "bert"),
    "alan": ("al",),
    "allen": ("al",),
    "alexander": ("alex", "xander", "sasha"),
    "alexandra": ("alex", "lexi", "sasha", "sandra"),
    "alfred": ("al", "alf", "fred"),
    "amanda": ("mandy", "manda"),
    "andrew": ("andy", "drew"),
    "angela": ("angie",),
    "anthony": ("tony",),
    "barbara": ("barb", "barbie", "babs"),
    "benjamin": ("ben", "benny", "benji"),
    "bradley": ("brad",),
    "catherine": ("cathy", "cat", "kate", "katie", "cate"),
    "charles": ("charlie", "chuck", "chas", "chip"),
    "christina": ("chris", "tina", "chrissy"),
    "christine": ("chris", "tina", "chrissy"),
    "christopher": ("chris", "kit", "topher"),
    "cynthia": ("cindy",),
    "daniel": ("dan", "danny"),
    "david": ("dave", "davey", "davy"),
    "deborah": ("deb", "debbie", "debby"),
    "debra": ("deb", "debbie"),
    "dennis": ("denny",),
    "donald": ("don", "donnie", "donny"),
    "dorothy": ("dot", "dottie", "dolly"),
    "douglas": ("doug",),
    "edward": ("ed", "eddie", "eddy", "ted", "teddy", "ned"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "betsy", "eliza", "libby", "liza", "elsie"),
    "eugene": ("gene",),
    "frances": ("fran", "frannie", "fanny"),
    "francis": ("frank", "fran"),
    "frederick": ("fred", "freddie", "freddy", "rick"),
    "gerald": ("jerry", "gerry"),
    "gregory": ("greg",),
    "harold": ("harry", "hal"),
    "henry": ("hank", "harry", "hal"),
    "jacob": ("jake",),
    "jacqueline": ("jackie", "jacky"),
    "james": ("jim", "jimmy", "jimmie", "jamie"),
    "jeffrey": ("jeff",),
    "jennifer": ("jen", "jenny", "jenn"),
    "jessica": ("jess", "jessie"),
    "john": ("jack", "johnny", "jon"),
    "jonathan": ("jon", "jonny", "johnny", "nathan"),
    "joseph": ("joe", "joey", "jo"),
    "josephine": ("jo", "josie"),
    "joshua": ("josh",),
    "judith": ("judy", "judi"),
    "katherine": ("kathy", "kate", "katie", "kat", "kay", "kit"),
    "kathleen": ("kathy", "kate", "katie", "kay"),
    "kathryn": ("kathy", "kate", "katie", "kay"),
    "kenneth": ("ken", "kenny"),
    "kimberly": ("kim", "kimmy"),
    "lawrence": ("larry", "lars"),
    "leonard": ("len", "lenny", "leo"),
    "margaret": ("maggie", "meg", "peggy", "marge", "margie", "greta"),
    "matthew": ("matt", "matty"),
    "melissa": ("missy", "mel", "lisa"),
    "michael": ("mike", "mikey", "mick", "mickey"),
    "nancy": ("nan",),
    "nathaniel": ("nate", "nat", "nathan"),
    "nicholas": ("nick", "nicky", "nico"),
    "pamela": ("pam",),
    "patricia": ("pat", "patty", "patti", "trish", "tricia"),
    "patrick": ("pat", "paddy", "rick"),
    "peter": ("pete",),
    "philip": ("phil",),
    "phillip": ("phil",),
    "raymond": ("ray",),
    "rebecca": ("becky", "becca", "becki"),
    "richard": ("rick", "ricky", "rich", "richie", "dick"),
    "robert": ("bob", "bobby", "rob", "robbie", "bert"),
    "ronald": ("ron", "ronnie", "ronny"),
    "samantha": ("sam", "sammie", "sammy"),
    "samuel": ("sam", "sammy"),
    "sandra": ("sandy",),
    "stanley": ("stan",),
    "stephanie": ("steph", "stephie"),
    "stephen": ("steve", "stevie"),
    "steven": ("steve", "stevie"),
    "susan": ("sue", "susie", "suzy"),
    "suzanne": ("sue", "suzy"),
    "theodore": ("ted", "teddy", "theo"),
    "theresa": ("terry", "tess", "tessa"),
    "teresa": ("terry", "tess"),
    "thomas": ("tom", "tommy"),
    "timothy": ("tim", "timmy"),
    "valerie": ("val",),
    "victoria": ("vicky", "vickie", "tori"),
    "vincent": ("vince", "vinny"),
    "virginia": ("ginny", "ginger"),
    "walter": ("walt", "wally"),
    "william": ("bill", "billy", "will", "willie", "willy", "liam"),
    "zachary": ("zach", "zack"),
}

_FORMALS_OF: dict[str, frozenset[str]] = {}
for _formal, _nicks in _NICKNAMES.items():
    for _nick in _nicks:
        _FORMALS_OF[_nick] = _FORMALS_OF.get(_nick, frozenset()) | {_formal}

# Given names that differ by one or two letters yet are different names, often of a husband and wife: the typo rule
# (one-letter edits count as the same name) must not apply between two names that are both real. The formal and
# nickname names of the table above count as real too.
_SIMILAR_DISTINCT_NAMES = frozenset(
    _words(
        "barry gary harry larry "
        "carl carol carla carlo daniel danielle dana dean diana diane dianne eric erica erin aaron francis frances "
        "gene jean joan john jon juan jane janet janice jan joanne jesse jessie joel joelle julian julia julie juliet "
        "lee leigh leo leon leona louis louise luis marc mark marie mario maria mary marian marion michael michelle "
        "nicole nicola noel noelle paul paula pauline robert roberta roberto ryan ryann ray rae tony toni "
        "terry terri billy billie bobby bobbie frank franky gabriel gabriela gabrielle glen glenn glenda kelly kelli "
        "kyle kylie alan alana allen ellen emily emma adrian adriana adrienne andre andrea angel angela angelo ann "
        "anne anna annie chris kris christian christina christine"
    )
)
# The maintained ``nicknames`` dataset, read in one direction only: a nickname and a formal name it stands for ("max"
# for maximilian or maxwell). Its nickname-to-nickname and many-to-many relations are not used (see above).
_DATASET = NickNamer()


@lru_cache(maxsize=65536)
def dataset_formals(name: str) -> frozenset[str]:
    """The formal names ``name`` is a nickname of in the ``nicknames`` dataset."""
    return frozenset(_DATASET.canonicals_of(name)) if len(name) > 1 else frozenset()


KNOWN_GIVEN_NAMES = frozenset(_NICKNAMES) | frozenset(_FORMALS_OF) | _SIMILAR_DISTINCT_NAMES
_STANDALONE = frozenset(_NICKNAMES) | _SIMILAR_DISTINCT_NAMES

_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "rev", "sir"})
NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v", "2nd", "3rd"})
_NON_LETTER = re.compile(r"[^a-z0-9\s-]")


def fold(raw: str | None) -> str:
    """Lower case, accents dropped, punctuation other than hyphens and spaces dropped, spaces collapsed."""
    if not raw:
        return ""
    text = unicodedata.normalize("NFKD", raw)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().replace("'", "")
    return " ".join(_NON_LETTER.sub(" ", text).split())


def given_name(raw: str | None) -> str:
    """The given name alone: folded, titles dropped, first token only ("Dr. Robert J." -> "robert")."""
    tokens = [t for t in fold(raw).replace("-", " ").split() if t not in _TITLES]
    return tokens[0] if tokens else ""


def family_name(raw: str | None) -> tuple[str, str]:
    """(family name, generational suffix): "O'Brien-Smith Jr." -> ("obriensmith", "jr"); spaces and hyphens dropped."""
    tokens = fold(raw).replace("-", " ").split()
    suffix = ""
    while len(tokens) > 1 and tokens[-1] in NAME_SUFFIXES:
        suffix = tokens.pop()
    return "".join(tokens), suffix


def name_order(first: str | None, last: str | None) -> tuple[str | None, str | None]:
    """(first, last) as the person's given and family name, whatever box the name arrived in.

    "SMITH, JANE" in one box (an export, a call log) is "last, first"; "Jane Smith" in the first-name box alone is
    "first last". A comma followed only by a suffix ("Smith, Jr") stays a surname.
    """
    if first and last and first.strip() and last.strip():
        return first, last
    whole = (first or "").strip() or (last or "").strip()
    if "," in whole:
        family, _, given = whole.partition(",")
        if family.strip() and given.strip() and fold(given).split()[0] not in NAME_SUFFIXES:
            return given.strip(), family.strip()
        return None, whole.replace(",", " ")
    tokens = whole.split()
    if (first or "").strip() and len(tokens) >= 2 and fold(tokens[-1]) not in NAME_SUFFIXES:
        return " ".join(tokens[:-1]), tokens[-1]
    return first, last


def name_forms(given: str) -> frozenset[str]:
    """The name itself and the formal names it is a nickname of."""
    return _FORMALS_OF.get(given, frozenset()) | {given} if given else frozenset()


def nickname_compatible(a: str, b: str) -> bool:
    """True when one name is a nickname of the other, or both are nicknames of one formal name (bob, rob).

    A nickname that is a name in its own right (sandra, nathan, lisa) links only to its formal names: "alex" and
    "sandra" both shorten alexandra, yet Alex and Sandra at one address are a couple.
    """
    if a == b or not a or not b:
        return False
    if a in _FORMALS_OF.get(b, ()) or b in _FORMALS_OF.get(a, ()) or a in dataset_formals(b) or b in dataset_formals(a):
        return True
    # Two nicknames: only of exactly the same formal names (bob, rob), so "pat" (patrick or patricia) and "trish"
    # (patricia) stay apart: a couple named Patrick and Patricia is common enough.
    formals = _FORMALS_OF.get(a)
    return formals is not None and formals == _FORMALS_OF.get(b) and a not in _STANDALONE and b not in _STANDALONE


def given_initials(given: str) -> frozenset[str]:
    """Initials of the formal names a given name stands for ("bob" -> {"r"}; "ted" -> {"e", "t"})."""
    return frozenset(form[0] for form in name_forms(given))


# --- street addresses --------------------------------------------------------------------------------------------
# A small USPS Publication 28 subset, enough to make "123 Main Street Apt 4" and "123 main st #4" one key. Another
# helper adds usaddress-scourgify standardisation at the edge (enrichment); when records arrive standardised these
# tables are a no-op, and they still cover raw input (web forms, phone notes) that never went through it.
# fmt: off
_STREET_SUFFIXES = {
    "street": "st", "str": "st", "st": "st", "avenue": "ave", "av": "ave", "ave": "ave", "aven": "ave",
    "road": "rd", "rd": "rd", "drive": "dr", "drv": "dr", "dr": "dr", "lane": "ln", "ln": "ln",
    "court": "ct", "crt": "ct", "ct": "ct", "place": "pl", "pl": "pl", "boulevard": "blvd", "blvd": "blvd",
    "circle": "cir", "circ": "cir", "cir": "cir", "terrace": "ter", "terr": "ter", "ter": "ter",
    "parkway": "pkwy", "pkwy": "pkwy", "pky": "pkwy", "highway": "hwy", "hwy": "hwy", "trail": "trl", "trl": "trl",
    "square": "sq", "sq": "sq", "crescent": "cres", "cres": "cres", "cove": "cv", "cv": "cv", "point": "pt",
    "pt": "pt", "ridge": "rdg", "rdg": "rdg", "crossing": "xing", "xing": "xing", "heights": "hts", "hts": "hts",
    "hollow": "holw", "holw": "holw", "alley": "aly", "aly": "aly", "expressway": "expy", "expy": "expy",
    "freeway": "fwy", "fwy": "fwy", "center": "ctr", "ctr": "ctr", "plaza": "plz", "plz": "plz",
    "loop": "loop", "way": "way", "run": "run", "path": "path", "pass": "pass", "row": "row", "walk": "walk",
}
_DIRECTIONS = {
    "north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw",
    "southeast": "se", "southwest": "sw", "n": "n", "s": "s", "e": "e", "w": "w",
    "ne": "ne", "nw": "nw", "se": "se", "sw": "sw",
}
# fmt: on
_UNIT_WORDS = frozenset(
    _words("apt apartment unit ste suite # no num number rm room fl floor bldg building lot spc space trlr dept ph")
)
_UNIT_JUNK = re.compile(r"[^a-z0-9]")
_HASH = re.compile(r"#")


def unit_key(raw: str | None) -> str:
    """A unit designator's value alone: "Apt 4" / "#4" / "unit 04" -> "4"; "Suite 2B" -> "2b"."""
    tokens = fold(_HASH.sub(" # ", raw or "")).split()
    while tokens and tokens[0] in _UNIT_WORDS:
        tokens.pop(0)
    value = _UNIT_JUNK.sub("", "".join(tokens))
    return value.lstrip("0") or value


@lru_cache(maxsize=65536)
def parse_street(street: str | None, unit: str | None = None) -> tuple[str, str, str]:
    """(house number, standardised street name, unit) from one street line and an optional separate unit.

    "123 Main Street Apt 4" and ("123 main st", "#4") both give ("123", "main st", "4"). The unit field wins over a
    unit found in the street line. No house number -> ("", name, unit).
    """
    tokens = fold(_HASH.sub(" # ", (street or "").replace(",", " ").replace(".", " "))).split()
    number = ""
    if tokens and tokens[0][0].isdigit():
        number = tokens.pop(0).replace("-", "")
    found_unit = ""
    for i, token in enumerate(tokens):
        if token in _UNIT_WORDS and i > 0:
            found_unit = unit_key(" ".join(tokens[i:]))
            tokens = tokens[:i]
            break
    # "123 Main St 4": a trailing number right after a street suffix is a unit ("Highway 7" keeps its number).
    if not found_unit and len(tokens) >= 3 and tokens[-1][0].isdigit() and tokens[-2] in _STREET_SUFFIXES:
        found_unit = "" if _STREET_SUFFIXES[tokens[-2]] == "hwy" else unit_key(tokens.pop())
    if tokens and tokens[-1] in _STREET_SUFFIXES:
        tokens[-1] = _STREET_SUFFIXES[tokens[-1]]
    if tokens and tokens[0] in _DIRECTIONS and len(tokens) > 1:
        tokens[0] = _DIRECTIONS[tokens[0]]
    if len(tokens) > 2 and tokens[-1] in _DIRECTIONS:
        tokens[-1] = _DIRECTIONS[tokens[-1]]
    separate_unit = unit_key(unit) if unit else ""
    return number, " ".join(tokens), separate_unit or found_unit


_GLUED_SUFFIXES = sorted(
    ((k, v) for k, v in _STREET_SUFFIXES.items() if len(k) >= 4 and k != v), key=lambda kv: -len(kv[0])
)


def compact_street(name: str) -> str:
    """A standardised street name without spaces, a suffix run into the name abbreviated too: "brunto nstreet" and
    "brunton st" both give "bruntonst" (a space slipped, common in typed records)."""
    text = name.replace(" ", "")
    for full, short in _GLUED_SUFFIXES:
        if text.endswith(full) and len(text) > len(full) + 2:
            return text[: -len(full)] + short
    return text


def postal_key(raw: str | None) -> str:
    """ZIP5 ("78701-1234" -> "78701"); other countries' codes folded, spaces dropped."""
    return fold(raw).replace(" ", "").replace("-", "")[:5]
