"""The ``team`` and ``sop`` sections of fieldrelay.yaml, and business holidays."""

from __future__ import annotations

from datetime import date, time

import pytest

from fieldrelay.rules.loader import ConfigError, parse_settings
from tests.conftest import TEST_YAML


def test_the_sop_defaults_name_an_owner_for_every_working_stage() -> None:
    settings = parse_settings(TEST_YAML, "test.yaml")
    owners = {stage: owner.role for stage, owner in settings.sop.stage_owners.items()}
    assert owners == {
        "new_lead": "office",
        "qualified": "dispatcher",
        "scheduled": "dispatcher",
        "estimate_sent": "sales",
        "no_decision": "sales",
        "work_approved": "dispatcher",
    }
    sop = settings.sop
    assert (sop.first_response_minutes, sop.after_hours_ack_minutes, sop.escalate_after_minutes) == (5, 2, 60)
    assert (sop.followup_cutoff, sop.review_at, sop.review_to, sop.service_zips) == (time(15), time(7, 30), None, [])
    assert settings.team == [] and settings.business.holidays == []


def test_holidays_and_team_are_read() -> None:
    yaml = TEST_YAML.replace(
        "  time_zone: America/Chicago\n", "  time_zone: America/Chicago\n  holidays: [2026-12-25]\n"
    )
    settings = parse_settings(yaml + "team:\n  - {name: Olga, role: operations}\n", "test.yaml")
    assert settings.business.holidays == [date(2026, 12, 25)]
    assert [(m.name, m.role) for m in settings.team] == [("Olga", "operations")]


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ("team:\n  - {name: Carla, role: office, reports_to: Olga}\n", "reports to 'Olga', who is not on the team"),
        ("team:\n  - {name: Al, role: sales}\n  - {name: Al, role: office}\n", "'Al' is listed twice"),
        ("team:\n  - {name: Al, role: boss}\n", "team.0.role: Input should be 'owner'"),
        ("sop:\n  service_zips: ['787']\n", "5-digit ZIP codes: 787"),
    ],
)
def test_a_bad_team_or_sop_is_refused_with_the_reason(extra: str, said: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings(TEST_YAML + extra, "test.yaml")
    assert said in "\n".join(str(p) for p in raised.value.problems)
