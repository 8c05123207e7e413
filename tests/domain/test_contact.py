"""Contact normalisation: phones to E.164, emails to trimmed lower case, display names."""

from __future__ import annotations

import pytest

from fieldrelay.domain.contact import display_name, normalize_country, normalize_email, normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "(512) 555-0142",
        "512.555.0142",
        "512-555-0142",
        "512 555 0142",
        "+1 512 555 0142",
        "+1 (512) 555-0142",
        "1-512-555-0142",
        "5125550142",
        "15125550142",
        "+15125550142",
        "  (512) 555-0142  ",
        "tel:+1-512-555-0142",
        "512-555-0142 ext. 7",
        "(512) 555-0142 x7",
    ],
)
def test_us_formats_normalise_to_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+15125550142"


def test_real_valid_us_number() -> None:
    assert normalize_phone("(212) 736-5000") == "+12127365000"


def test_international_numbers_keep_their_country() -> None:
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"


def test_region_decides_national_numbers() -> None:
    assert normalize_phone("(512) 555-0142", region="US") == "+15125550142"
    assert normalize_phone("416-555-0142", region="CA") == "+14165550142"


@pytest.mark.parametrize(
    "raw",
    [None, "", "   ", "abc", "n/a", "12345", "(512) 555-01", "123456789012345678", "+", "+1", "555"],
)
def test_invalid_phones_are_none(raw: str | None) -> None:
    assert normalize_phone(raw) is None


def test_seven_digit_local_number_is_none() -> None:
    assert normalize_phone("555-0142") is None


def test_all_zero_placeholder_is_none() -> None:
    assert normalize_phone("000-000-0000") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Pat.Doe@Example.com", "pat.doe@example.com"),
        ("  MARIA.ALVAREZ@EXAMPLE.COM\n", "maria.alvarez@example.com"),
        ("ray+jobs@example.com", "ray+jobs@example.com"),
        ("a@b", "a@b"),
    ],
)
def test_email_normalised(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "pat.example.com", "@example.com", "pat@", " @ "])
def test_email_without_usable_at_is_none(raw: str | None) -> None:
    assert normalize_email(raw) is None


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("Maria", "Alvarez", "Maria Alvarez"),
        (" Maria ", None, "Maria"),
        (None, "Alvarez", "Alvarez"),
        ("", "  ", None),
        (None, None, None),
    ],
)
def test_display_name(first: str | None, last: str | None, expected: str | None) -> None:
    assert display_name(first, last) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("US", "US"),
        ("us", "US"),
        ("USA", "US"),
        ("U.S.A.", "US"),
        ("United States", "US"),
        ("united states of america", "US"),
        ("Canada", "CA"),
        ("CAN", "CA"),
        ("MX", "MX"),
        ("Mexico", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_country(raw: str | None, expected: str | None) -> None:
    assert normalize_country(raw) == expected
