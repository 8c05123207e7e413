"""The menu: each screen once, with the permission it needs; a person sees only what their role may use."""

from __future__ import annotations

from dataclasses import dataclass

from fieldrelay.service.access.permissions import Action, can


@dataclass(frozen=True)
class NavItem:
    """One menu entry: its label, its path, and the action a role needs to see it (None: everyone signed in)."""

    label: str
    path: str
    needs: Action | None = None


NAV: tuple[NavItem, ...] = (
    NavItem("My day", "/"),
    NavItem("Customers", "/customers"),
    NavItem("Duplicates", "/duplicates", Action.MERGE),
    NavItem("Pipeline", "/pipeline"),
    NavItem("Daily review", "/review"),
    NavItem("People", "/people", Action.MANAGE_USERS),
    NavItem("Audit log", "/audit", Action.READ_AUDIT),
    NavItem("Errors", "/errors", Action.RETRY_ERROR),
    NavItem("Referrals", "/referrals", Action.ENROL_REFERRER),
    NavItem("Reports", "/reports", Action.READ_REPORTS),
    NavItem("Sequences", "/sequences", Action.READ_REPORTS),
    NavItem("Reviews", "/reviews", Action.READ_REPORTS),
    NavItem("Health", "/health", Action.READ_REPORTS),
)


def nav_for(role: str) -> list[NavItem]:
    """The entries ``role`` may use, in menu order."""
    return [item for item in NAV if item.needs is None or can(role, item.needs)]
