"""Reading a customer's reply to "how did we do? reply 1-5" as a rating, or as not a rating."""

from __future__ import annotations

import re

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# A reply that is a rating: one number 1-5 (or its word), optionally "/5", "stars", "out of 5" and punctuation or an
# emoji after it. Anything with a second number ("3 or 4", "10", "2/10") is not read as a rating: a person reads it.
_RATING = re.compile(
    r"^\s*(?P<n>[1-5]|one|two|three|four|five)\s*(?:/\s*5|out of 5|stars?|star rating)?\s*[^\w\d]*\s*$",
    re.IGNORECASE,
)


def parse_rating(reply: str) -> int | None:
    """The 1-5 rating a reply gives, or None when it is not plainly one."""
    match = _RATING.match(reply)
    if match is None:
        return None
    value = match.group("n").lower()
    return _WORDS.get(value) or int(value)
