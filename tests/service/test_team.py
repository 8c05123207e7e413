"""One way from a role to an owner: the person named, else the first team member holding the role, else the role."""

from __future__ import annotations

from fieldrelay.rules.loader import parse_settings
from fieldrelay.service.handoff.first_response import stage_owner
from fieldrelay.service.team import Owner, owner_for, roles_of
from tests.conftest import TEST_YAML

TEAM = """
team:
  - {name: Olga, role: operations}
  - {name: Sam, role: sales, reports_to: Olga}
  - {name: Rosa, role: sales, reports_to: Olga}
sop:
  stage_owners:
    new_lead: {role: office}
    estimate_sent: {role: sales, person: Rosa}
"""


def test_a_named_person_then_the_first_member_holding_the_role_then_the_role_itself() -> None:
    settings = parse_settings(TEST_YAML + TEAM, "test.yaml")
    assert owner_for(settings, "sales", "Rosa") == Owner("sales", "Rosa")
    assert owner_for(settings, "sales") == Owner("sales", "Sam")  # listed first
    assert owner_for(settings, "dispatcher") == Owner("dispatcher", None)
    assert owner_for(settings, "dispatcher").label == "dispatcher"


def test_the_sops_stage_owners_resolve_the_same_way() -> None:
    settings = parse_settings(TEST_YAML + TEAM, "test.yaml")
    assert stage_owner(settings, "estimate_sent") == Owner("sales", "Rosa")
    assert stage_owner(settings, "new_lead") == Owner("office", None)  # nobody on the team holds it
    assert stage_owner(settings, "no_such_stage") == Owner("operations", "Olga")
    assert stage_owner(parse_settings(TEST_YAML, "test.yaml"), "estimate_sent") == Owner("sales", None)


def test_the_roles_a_person_holds() -> None:
    settings = parse_settings(TEST_YAML + TEAM, "test.yaml")
    assert roles_of(settings, "Sam") == ("sales",)
    assert roles_of(settings, "Nobody") == ()
