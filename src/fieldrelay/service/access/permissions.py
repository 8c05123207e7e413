"""Who may do what: the one table of actions and the roles allowed each. Pages, API routes and the CLI ask here.

The owner and the operations lead may do everything. A CSR (role ``office``) answers leads: calls, tasks, qualifying,
new leads, contact edits. A dispatcher works tasks, qualifies and reassigns. Sales works tasks, calls and visit
outcomes. A technician only reads. Nobody but the owner and operations merges records, decides referrals, issues
rewards, replays errors or manages people.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import get_args

from fieldrelay.rules.sequences import Role

ROLES: tuple[str, ...] = get_args(Role)
ROLE_LABELS = {
    "owner": "Owner",
    "operations": "Operations",
    "office": "Office (CSR)",
    "dispatcher": "Dispatcher",
    "sales": "Sales",
    "technician": "Technician (read only)",
}


class Action(StrEnum):
    """Something a person does (or sees) that not every role may."""

    COMPLETE_TASK = "complete_task"
    LOG_CALL = "log_call"
    QUALIFY = "qualify"
    NEW_LEAD = "new_lead"
    RECORD_OUTCOME = "record_outcome"
    REASSIGN = "reassign"
    EDIT_CONTACT = "edit_contact"
    END_ENROLMENT = "end_enrolment"
    ENROL_REFERRER = "enrol_referrer"
    ATTRIBUTE_REFERRAL = "attribute_referral"
    APPROVE_REFERRAL = "approve_referral"
    REJECT_REFERRAL = "reject_referral"
    ISSUE_REWARD = "issue_reward"
    MERGE = "merge"
    KEEP_APART = "keep_apart"
    UNDO_MERGE = "undo_merge"
    RETRY_ERROR = "retry_error"
    DISMISS_ERROR = "dismiss_error"
    MANAGE_USERS = "manage_users"
    SEE_ALL_TASKS = "see_all_tasks"
    READ_AUDIT = "read_audit"
    READ_REPORTS = "read_reports"


_LEADS = ("owner", "operations")

# action -> the roles besides the owner and operations that may do it (none: only those two).
_OTHERS: dict[Action, tuple[str, ...]] = {
    Action.COMPLETE_TASK: ("office", "dispatcher", "sales"),
    Action.LOG_CALL: ("office", "sales"),
    Action.QUALIFY: ("office", "dispatcher"),
    Action.NEW_LEAD: ("office",),
    Action.RECORD_OUTCOME: ("sales",),
    Action.REASSIGN: ("dispatcher",),
    Action.EDIT_CONTACT: ("office",),
    Action.END_ENROLMENT: ("office",),  # a customer who asks on the phone to stop hearing about it
    # A CSR types the code a caller gives and enrols a happy customer; deciding and paying stay with the leads.
    Action.ENROL_REFERRER: ("office",),
    Action.ATTRIBUTE_REFERRAL: ("office",),
    Action.APPROVE_REFERRAL: (),
    Action.REJECT_REFERRAL: (),
    Action.ISSUE_REWARD: (),
    Action.MERGE: (),
    Action.KEEP_APART: (),
    Action.UNDO_MERGE: (),
    Action.RETRY_ERROR: (),
    Action.DISMISS_ERROR: (),
    Action.MANAGE_USERS: (),
    Action.SEE_ALL_TASKS: (),
    Action.READ_AUDIT: (),
    Action.READ_REPORTS: (),
}

PERMISSIONS: dict[Action, frozenset[str]] = {action: frozenset((*_LEADS, *_OTHERS[action])) for action in Action}

# How a refusal names the action: "a CSR may not merge records".
WORDS: dict[Action, str] = {
    Action.COMPLETE_TASK: "complete tasks",
    Action.LOG_CALL: "log calls",
    Action.QUALIFY: "qualify leads",
    Action.NEW_LEAD: "enter new leads",
    Action.RECORD_OUTCOME: "record visit outcomes",
    Action.REASSIGN: "reassign deals",
    Action.EDIT_CONTACT: "edit contact details",
    Action.END_ENROLMENT: "end a customer's follow-up sequence",
    Action.ENROL_REFERRER: "enrol referrers",
    Action.ATTRIBUTE_REFERRAL: "attribute referrals",
    Action.APPROVE_REFERRAL: "approve referrals",
    Action.REJECT_REFERRAL: "reject referrals",
    Action.ISSUE_REWARD: "issue referral rewards",
    Action.MERGE: "merge records",
    Action.KEEP_APART: "keep records apart",
    Action.UNDO_MERGE: "undo merges",
    Action.RETRY_ERROR: "retry errors",
    Action.DISMISS_ERROR: "dismiss errors",
    Action.MANAGE_USERS: "manage people and their sign-ins",
    Action.SEE_ALL_TASKS: "see everyone's tasks",
    Action.READ_AUDIT: "read the audit log",
    Action.READ_REPORTS: "read the shop's reports and system health",
}


class NotAllowed(PermissionError):
    """The person's role may not do this."""


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (by name, as on the team) with their role, and through what (web, api, cli)."""

    name: str
    role: str
    via: str
    user_id: str | None = None


def can(role: str, action: Action) -> bool:
    """True when ``role`` may do ``action``."""
    return role in PERMISSIONS[action]


def require(actor: Actor, action: Action) -> None:
    """Raise NotAllowed unless the actor's role may do ``action``."""
    if not can(actor.role, action):
        label = ROLE_LABELS.get(actor.role, actor.role)
        raise NotAllowed(f"{actor.name} ({label}) may not {WORDS[action]}")


def allowed(role: str) -> list[Action]:
    """Every action ``role`` may do, in the table's order."""
    return [action for action in Action if can(role, action)]
