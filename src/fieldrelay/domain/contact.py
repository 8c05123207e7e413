"""Normalisation of contact details: E.164 phones (phonenumbers), lower-case emails, display names."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "US"


@lru_cache(maxsize=8192)  # a pure function called on every event; parsing costs ~0.2 ms per number
def normalize_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """Return the E.164 form of a phone number in any common format, or None if it is not a valid number."""
    if not raw or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    # Only valid numbers: a 7-digit local number or a placeholder such as 000-000-0000 would otherwise
    # match unrelated customers.
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str | None) -> str | None:
    """Return a trimmed, lower-case email, or None when it has no ``@``."""
    if not raw:
        return None
    email = raw.strip().lower()
    return email if "@" in email and not email.startswith("@") and not email.endswith("@") else None


# Spellings field tools use for the countries fieldrelay's shops work in; anything else is not guessed at.
_COUNTRY_NAMES = {
    "us": "US",
    "usa": "US",
    "united states": "US",
    "united states of america": "US",
    "can": "CA",
    "canada": "CA",
}


def normalize_country(raw: str | None) -> str | None:
    """An ISO 3166 two-letter code ("US"), from a code or a common name; None when it cannot be told."""
    if not raw or not raw.strip():
        return None
    value = raw.strip().rstrip(".").lower()
    if len(value) == 2 and value.isalpha():
        return value.upper()
    return _COUNTRY_NAMES.get(value.replace(".", ""))


def display_name(first: str | None, last: str | None) -> str | None:
    """Join first and last name, dropping blanks."""
    parts = [p.strip() for p in (first, last) if p and p.strip()]
    return " ".join(parts) or None
