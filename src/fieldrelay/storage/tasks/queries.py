"""The task list for the API and CLI: tasks with their customer, owner and due time, filtered the ways people ask."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from fieldrelay.storage.queries import iso
from fieldrelay.storage.sequences.tables import tasks
from fieldrelay.storage.tables import customers

SHORT = 8  # characters of the id a list prints (service/tasks/closing.py accepts any unique prefix)


@dataclass(frozen=True)
class TaskView:
    """One task for a person, as a list shows it."""

    id: str
    customer_id: str
    customer_name: str
    job_id: str | None
    deal_id: str | None
    kind: str
    title: str
    role: str
    assignee: str | None
    escalated_to: str | None
    due_at: datetime
    overdue: bool
    status: str
    source: str
    closed_at: datetime | None
    closed_by: str | None
    outcome: str | None
    note: str | None

    @property
    def owner(self) -> str:
        """Who holds it: the person, else the role."""
        return self.assignee or self.role

    def as_json(self) -> dict[str, Any]:
        """The API shape."""
        return {
            "id": self.id,
            "short_id": self.id[:SHORT],
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "job_id": self.job_id,
            "deal_id": self.deal_id,
            "kind": self.kind,
            "title": self.title,
            "role": self.role,
            "assignee": self.assignee,
            "owner": self.owner,
            "escalated_to": self.escalated_to,
            "due_at": iso(self.due_at),
            "overdue": self.overdue,
            "status": self.status,
            "source": self.source,
            "closed_at": iso(self.closed_at),
            "closed_by": self.closed_by,
            "outcome": self.outcome,
            "note": self.note,
        }


def _name(row: Any) -> str:
    full = " ".join(part for part in (row.first_name, row.last_name) if part)
    return str(row.name or full or row.customer_id[:8])


def list_tasks(
    conn: Connection,
    account_id: str,
    now: datetime,
    *,
    status: str | None = "open",
    mine: str | None = None,
    mine_roles: Collection[str] = (),
    overdue: bool = False,
    kind: str | None = None,
    role: str | None = None,
    customer_id: str | None = None,
    limit: int = 200,
) -> list[TaskView]:
    """Tasks, soonest due first (``status`` None: every status).

    ``mine``: the person's own tasks, those escalated to them, and unassigned ones of a role in ``mine_roles`` (or
    of a role called ``mine``). ``overdue``: open and due by ``now``. ``kind``: that kind, or the kinds under it
    (``sop.followup`` takes ``sop.followup.1`` to ``3``).
    """
    k, c = tasks.c, customers.c
    query = (
        select(tasks, c.name, c.first_name, c.last_name)
        .join(customers, c.id == k.customer_id)
        .where(k.account_id == account_id)
    )
    if status is not None:
        query = query.where(k.status == status)
    if mine is not None:
        roles = {mine, *mine_roles}
        query = query.where(
            or_(k.assignee == mine, k.escalated_to == mine, and_(k.assignee.is_(None), k.role.in_(roles)))
        )
    if overdue:
        query = query.where(k.status == "open", k.due_at <= now)
    if kind is not None:
        query = query.where(or_(k.kind == kind, k.kind.startswith(f"{kind}.", autoescape=True)))
    if role is not None:
        query = query.where(k.role == role)
    if customer_id is not None:
        query = query.where(k.customer_id == customer_id)
    rows = conn.execute(query.order_by(k.due_at, k.id).limit(limit)).all()
    return [
        TaskView(
            id=r.id,
            customer_id=r.customer_id,
            customer_name=_name(r),
            job_id=r.job_id,
            deal_id=r.deal_id,
            kind=r.kind,
            title=r.title,
            role=r.role,
            assignee=r.assignee,
            escalated_to=r.escalated_to,
            due_at=r.due_at,
            overdue=r.status == "open" and r.due_at <= now,
            status=r.status,
            source=r.source,
            closed_at=r.closed_at,
            closed_by=r.closed_by,
            outcome=r.outcome,
            note=r.note,
        )
        for r in rows
    ]
