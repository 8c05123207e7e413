"""The team, deals' handoff fields and their tasks, for the lead-handoff SOP (mixed into SqlMirror)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from fieldrelay.service.handoff.ports import HandoffDeal, OpenLoop, TaskRecord, TeamMemberRecord
from fieldrelay.storage.handoff.tables import team_members
from fieldrelay.storage.prepared import insert_ignore
from fieldrelay.storage.sequences.tables import tasks
from fieldrelay.storage.tables import customers, deals


def task_record(row: Any) -> TaskRecord:
    """A tasks row as a record."""
    return TaskRecord(
        id=row.id,
        customer_id=row.customer_id,
        deal_id=row.deal_id,
        kind=row.kind,
        title=row.title,
        role=row.role,
        assignee=row.assignee,
        due_at=row.due_at,
        status=row.status,
        escalated_at=row.escalated_at,
        escalated_to=row.escalated_to,
        source=row.source,
    )


def member_record(row: Any) -> TeamMemberRecord:
    """A team_members row as a record."""
    return TeamMemberRecord(row.name, row.role, row.email, row.phone, row.reports_to, row.active)


class SqlSop:
    """SOP reads and writes inside the caller's transaction."""

    _conn: Connection
    _account: str
    _now: datetime
    _lock: bool

    def upsert_team_member(self, values: Mapping[str, object]) -> bool:
        """Create the member named in ``values`` or update their role and contacts; True when created."""
        row = {"id": str(uuid.uuid4()), "account_id": self._account, "active": True, **values}
        row |= {"created_at": self._now, "updated_at": self._now}
        if insert_ignore(self._conn, team_members, row):
            return True
        changes = {k: v for k, v in values.items() if k != "name"}
        t = team_members.c
        self._conn.execute(
            update(team_members)
            .where(t.account_id == self._account, t.name == values["name"])
            .values(**changes, updated_at=self._now)
        )
        return False

    def team_member(self, name: str) -> TeamMemberRecord | None:
        """One member by name (exact), or None."""
        t = team_members.c
        row = self._conn.execute(select(team_members).where(t.account_id == self._account, t.name == name)).first()
        return member_record(row) if row is not None else None

    def team_members(self) -> list[TeamMemberRecord]:
        """The whole team, by name."""
        t = team_members.c
        query = select(team_members).where(t.account_id == self._account).order_by(t.name)
        return [member_record(r) for r in self._conn.execute(query)]

    def handoff_deal(self, deal_id: str) -> HandoffDeal | None:
        """One deal with its SOP fields, locked on PostgreSQL."""
        d = deals.c
        query = select(deals).where(d.account_id == self._account, d.id == deal_id)
        row = self._conn.execute(query.with_for_update() if self._lock else query).first()
        if row is None:
            return None
        return HandoffDeal(
            id=row.id,
            customer_id=row.customer_id,
            stage=row.stage,
            stage_at=row.stage_at,
            is_open=row.is_open,
            owner=row.owner,
            next_action=row.next_action,
            next_action_due_at=row.next_action_due_at,
            service_zip=row.service_zip,
            job_type=row.job_type,
            requested_for=row.requested_for,
            lead_at=row.lead_at,
            first_response_at=row.first_response_at,
        )

    def get_task(self, task_id: str) -> TaskRecord | None:
        """One task, locked on PostgreSQL."""
        k = tasks.c
        query = select(tasks).where(k.account_id == self._account, k.id == task_id)
        row = self._conn.execute(query.with_for_update() if self._lock else query).first()
        return task_record(row) if row is not None else None

    def open_deal_tasks(self, deal_id: str, kind_prefix: str = "") -> list[TaskRecord]:
        """The deal's open tasks whose kind starts with ``kind_prefix``, soonest due first."""
        k = tasks.c
        query = (
            select(tasks)
            .where(k.account_id == self._account, k.deal_id == deal_id, k.status == "open")
            .where(k.kind.startswith(kind_prefix, autoescape=True))
            .order_by(k.due_at, k.created_at, k.id)
        )
        return [task_record(r) for r in self._conn.execute(query)]

    def update_task(self, task_id: str, values: Mapping[str, object]) -> None:
        """Change a task."""
        k = tasks.c
        self._conn.execute(update(tasks).where(k.account_id == self._account, k.id == task_id).values(**values))

    def open_loops(self, stages: tuple[str, ...]) -> list[OpenLoop]:
        """Open deals standing at one of ``stages``, the longest-standing first."""
        d, c = deals.c, customers.c
        query = (
            select(deals, c.name, c.first_name, c.last_name)
            .join(customers, c.id == d.customer_id)
            .where(d.account_id == self._account, d.is_open.is_(True), d.stage.in_(stages))
            .order_by(d.stage_at, d.id)
        )
        return [
            OpenLoop(
                deal_id=r.id,
                customer_id=r.customer_id,
                customer_name=r.name or " ".join(p for p in (r.first_name, r.last_name) if p) or "(no name)",
                stage=r.stage,
                stage_at=r.stage_at,
                owner=r.owner,
                next_action=r.next_action,
                due_at=r.next_action_due_at,
            )
            for r in self._conn.execute(query)
        ]
