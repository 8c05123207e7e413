"""The permission table: the owner and operations do everything, each other role only its own work, a technician
nothing; a CSR can neither issue a reward nor merge."""

from __future__ import annotations

import pytest

from fieldrelay.service.access.permissions import (
    PERMISSIONS,
    ROLE_LABELS,
    ROLES,
    Action,
    Actor,
    NotAllowed,
    allowed,
    can,
    require,
)

# What the shop's playbook gives each role besides the owner and operations (issue 20).
EXPECTED = {
    "office": {
        Action.LOG_CALL,
        Action.COMPLETE_TASK,
        Action.QUALIFY,
        Action.NEW_LEAD,
        Action.EDIT_CONTACT,
        Action.END_ENROLMENT,
        Action.ENROL_REFERRER,
        Action.ATTRIBUTE_REFERRAL,
    },
    "dispatcher": {Action.COMPLETE_TASK, Action.QUALIFY, Action.REASSIGN},
    "sales": {Action.COMPLETE_TASK, Action.LOG_CALL, Action.RECORD_OUTCOME},
    "technician": set(),
}


@pytest.mark.parametrize("role", ["owner", "operations"])
def test_the_owner_and_operations_may_do_everything(role: str) -> None:
    assert allowed(role) == list(Action)


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_other_role_may_do_only_its_own_work(role: str) -> None:
    assert set(allowed(role)) == EXPECTED[role]


def test_a_csr_cannot_issue_a_reward_or_merge() -> None:
    csr = Actor("Carla", "office", "web")
    for action in (Action.ISSUE_REWARD, Action.MERGE, Action.MANAGE_USERS, Action.RETRY_ERROR):
        with pytest.raises(NotAllowed, match=r"Carla \(Office \(CSR\)\) may not"):
            require(csr, action)
    require(csr, Action.COMPLETE_TASK)  # allowed: no exception


def test_every_action_and_role_is_in_the_table() -> None:
    assert set(PERMISSIONS) == set(Action)
    assert set(ROLE_LABELS) == set(ROLES)
    assert all(roles <= set(ROLES) for roles in PERMISSIONS.values())
    assert not can("someone", Action.COMPLETE_TASK)
