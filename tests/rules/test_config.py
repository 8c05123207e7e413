"""Settings: a ``templates:`` section overrides only the templates it names; problems point at the file's own lines."""

from __future__ import annotations

import pytest

from fieldrelay.rules.library import packaged_section
from fieldrelay.rules.loader import ConfigError, parse_settings

SHOP = "business:\n  name: Volt Electric\n"


def test_naming_one_template_keeps_the_other_fifteen() -> None:
    settings = parse_settings(
        SHOP + "templates:\n  review_nudge:\n    channel: sms\n    body: Hi {{ first_name }}, a review?\n"
    )
    packaged = packaged_section("templates")
    assert set(settings.templates) == set(packaged) and len(settings.templates) == 16
    assert settings.templates["review_nudge"].body == "Hi {{ first_name }}, a review?"
    assert settings.templates["review_email"].body == packaged["review_email"]["body"]


def test_a_new_template_joins_the_packaged_ones() -> None:
    settings = parse_settings(SHOP + "templates:\n  winter_check:\n    channel: sms\n    body: Cold yet?\n")
    assert len(settings.templates) == 17 and settings.templates["winter_check"].body == "Cold yet?"


def test_an_overridden_template_on_the_wrong_channel_is_named_on_its_own_line() -> None:
    text = SHOP + "templates:\n  review_nudge:\n    channel: email\n    subject: Hi\n    body: Hi\n"
    with pytest.raises(ConfigError) as raised:
        parse_settings(text, "shop.yaml")
    (problem,) = raised.value.problems
    assert problem.line == 5 and problem.path == "templates.review_nudge.channel"
    assert "is for email, but the packaged sequence review_follow_up sends it by sms" in problem.message


def test_a_bad_template_is_named_on_its_own_line() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(SHOP + "templates:\n  review_nudge:\n    channel: sms\n", "shop.yaml")
    (problem,) = raised.value.problems
    assert (problem.line, problem.path) == (4, "templates.review_nudge.body")


def test_a_sequence_of_the_file_naming_a_missing_template_points_at_its_step() -> None:
    text = SHOP + (
        "sequences:\n  winter:\n    trigger: job.completed\n    category: marketing\n    steps:\n"
        "      - {name: ask, after: 1d, channel: sms, template: winter_check}\n"
    )
    with pytest.raises(ConfigError) as raised:
        parse_settings(text, "shop.yaml")
    (problem,) = raised.value.problems
    assert problem.line == 8 and problem.path == "sequences.winter.steps.0.template"
    assert "no template named 'winter_check'" in problem.message


def test_only_the_demo_shops_file_says_demo() -> None:
    assert parse_settings(SHOP).demo is False
    assert parse_settings("demo: true\n" + SHOP).demo is True
