"""The team: who holds a role, so every deal stage and every task has a person (or, when nobody holds it, the role).

This is the one way fieldrelay turns a role into an owner: the SOP's stage owners and the sequences' task steps both
ask ``owner_for``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fieldrelay.rules.config import Settings


@dataclass(frozen=True)
class Owner:
    """Who holds a deal or a task: a role and, when someone holds it, the person."""

    role: str
    person: str | None

    @property
    def label(self) -> str:
        """What an owner column holds: the person, else the role."""
        return self.person or self.role


def owner_for(settings: Settings, role: str, person: str | None = None) -> Owner:
    """``person`` when one is named; else the first member of ``team:`` (in fieldrelay.yaml order) holding ``role``;
    else nobody, and the role itself owns it."""
    if person is None:
        person = next((member.name for member in settings.team if member.role == role), None)
    return Owner(role, person)


def roles_of(settings: Settings, name: str) -> tuple[str, ...]:
    """The roles ``name`` holds on the configured team (none for someone not on it)."""
    return tuple(member.role for member in settings.team if member.name == name)
