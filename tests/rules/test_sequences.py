"""Sequences and templates as `fieldrelay check` sees them: the packaged library, and each kind of mistake a shop
can make, reported with its line."""

from __future__ import annotations

import textwrap
from datetime import date, timedelta

import pytest

from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import ConfigError, parse_settings
from fieldrelay.rules.sequences import parse_duration
from fieldrelay.service.outreach import templates
from fieldrelay.service.records import CustomerRecord, JobRecord
from tests.conftest import START

HEAD = "business:\n  name: Rapid Rooter Plumbing\n"


def problems(yaml_text: str) -> list[str]:
    """The lines `fieldrelay check` would print for this file."""
    with pytest.raises(ConfigError) as caught:
        parse_settings(HEAD + textwrap.dedent(yaml_text), "fieldrelay.yaml")
    return [str(p) for p in caught.value.problems]


def test_the_packaged_library_has_the_playbooks_sequences() -> None:
    settings = Settings.model_validate({"business": {"name": "X"}})
    assert {name: s.trigger for name, s in settings.sequences.items()} == {
        "satisfaction_check": "job.completed",
        "review_follow_up": "job.paid",
        "service_recovery": "rating.received",
        "maintenance_plan_offer": "rating.received",
        "seasonal_offer": "job.completed",
        "renewal_reminders": "job.completed",
        "payment_reminders": "job.invoiced",
        "re_engagement": "job.cancelled",
        "rebooking": "estimate.no_decision",
        "referral_invite": "referrer.enrolled",
        "referral_thanks": "referral.rewarded",
    }
    offer = settings.sequences["maintenance_plan_offer"]
    assert (offer.entry.rating_at_least, offer.entry.min_ticket, offer.entry.no_plan) == (4, 250, True)
    assert [s.offset for s in offer.steps] == [timedelta(hours=h) for h in (48, 48, 96, 120)]


def test_every_packaged_template_renders_for_a_customer_with_nothing_but_a_name() -> None:
    settings = Settings.model_validate({"business": {"name": "Rapid Rooter Plumbing"}})
    customer = CustomerRecord("c1", "Pat", None, None, None, None, None, None, False, None)
    job = JobRecord("j1", "c1", "paid", START, "Drain cleaning", 45000, START)
    for name in settings.templates:
        for the_job in (job, None):
            values = templates.base_values(settings, customer, the_job)
            subject, body = templates.render(settings, name, values, renewal_date=date(2027, 11, 2))
            assert "Pat" in body or "Rapid Rooter" in body, name
            assert "None" not in body and (subject is None or "None" not in subject), name


def test_a_template_naming_an_unknown_value_fails_when_rendered_not_with_a_blank() -> None:
    settings = parse_settings(HEAD + "templates:\n  t: {channel: sms, body: 'Hi {{ frist_name }}'}\nsequences: {}\n")
    customer = CustomerRecord("c1", "Pat", None, None, None, None, None, None, False, None)
    with pytest.raises(templates.TemplateFailed, match="frist_name"):
        templates.render(settings, "t", templates.base_values(settings, customer, None))


def test_a_missing_template_and_a_template_for_the_wrong_channel_are_named_with_their_lines() -> None:
    found = problems(
        """
        sequences:
          foo:
            trigger: job.completed
            category: marketing
            steps:
              - {name: a, after: 1d, channel: sms, template: nope}
              - {name: b, after: 2d, channel: email, template: satisfaction_ask}
        """
    )
    assert found[0].startswith("line 9: sequences.foo.steps.0.template: no template named 'nope'")
    assert found[1] == "line 10: sequences.foo.steps.1.template: template 'satisfaction_ask' is for sms, not email"


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (
            "{name: a, after: 2x, channel: sms, template: satisfaction_ask}",
            "'2x' is not a duration like 30m, 48h or 5d",
        ),
        (
            "{name: a, after: 1d, channel: task, template: satisfaction_ask}",
            "a task step needs 'task' and no 'template'",
        ),
        ("{name: a, after: 1d, channel: sms}", "a sms step needs 'template' and no 'task'"),
        ("{name: a, after: 1d, channel: email, template: review_email, expects: rating}", "only a text can ask"),
        ("{name: a, after: 5d, until: 2d, channel: sms, template: satisfaction_ask}", "'until' (2d) is before"),
        ("{name: a, after: 1d, channel: sms, template: satisfaction_ask, when: [sunny]}", "Input should be"),
    ],
)
def test_a_bad_step_is_reported_with_its_line(step: str, message: str) -> None:
    found = problems(
        f"sequences:\n  foo:\n    trigger: job.completed\n    category: marketing\n    steps:\n      - {step}\n"
    )
    assert len(found) == 1 and found[0].startswith("line 8: sequences.foo.steps.0") and message in found[0]


def test_steps_out_of_order_and_repeated_names_are_refused() -> None:
    base = "sequences:\n  foo:\n    trigger: job.completed\n    category: marketing\n    steps:\n"
    late_first = (
        "      - {name: a, after: 2d, channel: task, task: {title: x}}\n"
        "      - {name: b, after: 1d, channel: task, task: {title: y}}\n"
    )
    assert "in the order they fall due" in problems(base + late_first)[0]
    twice = (
        "      - {name: a, after: 1d, channel: task, task: {title: x}}\n"
        "      - {name: a, after: 2d, channel: task, task: {title: y}}\n"
    )
    assert "step names repeat: a" in problems(base + twice)[0]


def test_an_unknown_trigger_or_exit_rule_is_refused() -> None:
    found = problems(
        "sequences:\n  foo:\n    trigger: job.exploded\n    category: marketing\n    exit_on: [moved_away]\n"
        "    steps:\n      - {name: a, after: 1d, channel: task, task: {title: x}}\n"
    )
    assert [f.split(":")[0] + ":" + f.split(":")[1] for f in found] == [
        "line 5: sequences.foo.trigger",
        "line 7: sequences.foo.exit_on.0",
    ]


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30m", timedelta(minutes=30)),
        ("48h", timedelta(hours=48)),
        ("5d", timedelta(days=5)),
        ("-30d", -timedelta(days=30)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_durations(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


def test_an_empty_sequences_section_turns_the_library_off() -> None:
    assert parse_settings(HEAD + "sequences: {}\n").sequences == {}
