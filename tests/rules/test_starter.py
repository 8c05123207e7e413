"""The starter fieldrelay.yaml: the packaged sections, the user's shop, no demo identity; business hours in words."""

from __future__ import annotations

import pytest

from fieldrelay.rules.library import PACKAGED_YAML, packaged_section
from fieldrelay.rules.loader import parse_settings
from fieldrelay.rules.starter import describe_hours, parse_hours, starter_yaml


def test_the_starter_is_the_users_shop_and_loads() -> None:
    hours = parse_hours("mon-fri 07:30-16:30; sat 09:00-12:00")
    text = starter_yaml('Volt "Bright" Electric', "America/Denver", hours)
    settings = parse_settings(text, "fieldrelay.yaml")
    assert settings.business.name == 'Volt "Bright" Electric' and settings.business.time_zone == "America/Denver"
    assert settings.business.business_hours["sat"] == "09:00-12:00" and settings.business.business_hours["sun"] is None
    assert settings.messaging.email.from_name == 'Volt "Bright" Electric'
    assert not settings.demo and not settings.referrals.enabled
    assert packaged_section("business")["name"] not in text and "demo:" not in text


def test_the_starter_keeps_the_packaged_library_and_settings() -> None:
    settings = parse_settings(starter_yaml("Volt Electric", "America/Chicago", parse_hours("08:00-17:00")))
    packaged = parse_settings(PACKAGED_YAML.read_text(encoding="utf-8"))
    assert settings.sequences == packaged.sequences and settings.templates == packaged.templates
    assert settings.followup == packaged.followup and settings.connectors == packaged.connectors
    assert settings.field_mapping == packaged.field_mapping and settings.pipeline == packaged.pipeline


@pytest.mark.parametrize(
    ("spec", "open_days"),
    [
        ("08:00-17:00", {"mon", "tue", "wed", "thu", "fri"}),
        ("mon-sat 07:00-19:00", {"mon", "tue", "wed", "thu", "fri", "sat"}),
        ("Mon-Fri 08:00-17:00, Sat 09:00-12:00", {"mon", "tue", "wed", "thu", "fri", "sat"}),
        ("mon-sun 00:00-24:00; wed closed", {"mon", "tue", "thu", "fri", "sat", "sun"}),
    ],
)
def test_business_hours_in_words(spec: str, open_days: set[str]) -> None:
    assert {day for day, window in parse_hours(spec).items() if window} == open_days


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("mon-fry 08:00-17:00", "'mon-fry' is not a day"),
        ("9 to 5", "cannot read"),
        ("mon 17:00-08:00", "close before they open"),
    ],
)
def test_business_hours_that_cannot_be_read(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_hours(spec)


def test_hours_described_back() -> None:
    assert describe_hours(parse_hours("mon-fri 08:00-17:00; sat 09:00-12:00")) == "mon-fri 08:00-17:00, sat 09:00-12:00"
    assert describe_hours(parse_hours("mon 08:00-12:00; wed 08:00-12:00")) == "mon 08:00-12:00, wed 08:00-12:00"
    assert describe_hours(dict.fromkeys(("mon", "sun"))) == "closed every day"
