"""What the lead-handoff SOP reads and writes: the team, a deal's handoff fields, its tasks, the open loops."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class TeamMemberRecord:
    """One person of the shop."""

    name: str
    role: str
    email: str | None
    phone: str | None
    reports_to: str | None
    active: bool


@dataclass(frozen=True)
class HandoffDeal:
    """A deal with its SOP fields: who owns it, what is next and by when, what qualification confirmed."""

    id: str
    customer_id: str
    stage: str
    stage_at: datetime
    is_open: bool
    owner: str | None
    next_action: str | None
    next_action_due_at: datetime | None
    service_zip: str | None
    job_type: str | None
    requested_for: str | None
    lead_at: datetime | None
    first_response_at: datetime | None


@dataclass(frozen=True)
class TaskRecord:
    """A task for a person."""

    id: str
    customer_id: str
    deal_id: str | None
    kind: str
    title: str
    role: str
    assignee: str | None
    due_at: datetime
    status: str
    escalated_at: datetime | None
    escalated_to: str | None
    source: str  # what opened it: ``sop:…`` for the SOP, ``seq:{enrollment id}:{step}`` for a sequence step


@dataclass(frozen=True)
class OpenLoop:
    """A deal waiting on the customer's decision, as the morning review lists it."""

    deal_id: str
    customer_id: str
    customer_name: str
    stage: str
    stage_at: datetime
    owner: str | None
    next_action: str | None
    due_at: datetime | None


class SopStore(Protocol):
    """The SOP's reads and writes inside the caller's transaction."""

    def upsert_team_member(self, values: Mapping[str, object]) -> bool:
        """Create the member named in ``values`` or update their role and contacts; True when created."""
        ...

    def team_member(self, name: str) -> TeamMemberRecord | None:
        """One member by name (exact), or None."""
        ...

    def team_members(self) -> list[TeamMemberRecord]:
        """The whole team, by name."""
        ...

    def handoff_deal(self, deal_id: str) -> HandoffDeal | None:
        """One deal with its SOP fields, locked on PostgreSQL."""
        ...

    def get_task(self, task_id: str) -> TaskRecord | None:
        """One task, locked on PostgreSQL."""
        ...

    def open_deal_tasks(self, deal_id: str, kind_prefix: str = "") -> list[TaskRecord]:
        """The deal's open tasks whose kind starts with ``kind_prefix``, soonest due first."""
        ...

    def update_task(self, task_id: str, values: Mapping[str, object]) -> None:
        """Change a task."""
        ...

    def open_loops(self, stages: tuple[str, ...]) -> list[OpenLoop]:
        """Open deals standing at one of ``stages``, the longest-standing first."""
        ...
