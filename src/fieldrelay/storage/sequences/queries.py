"""Read models of the follow-up machinery for the API and CLI: enrolments with their next step, replay input
(the task list is storage/tasks/queries.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from fieldrelay.storage.queries import iso
from fieldrelay.storage.sequences.tables import enrollments
from fieldrelay.storage.tables import activities, customers, jobs, timers

# Job statuses that are sequence triggers of their own (``job.<status>``).
TRIGGER_STATUSES = ("booked", "completed", "invoiced", "paid", "cancelled")
# Timers of sequence steps are keyed ``seq:{enrollment_id}:{step}[:{attempt}]`` (service/sequences/enrolment.py).
_STEP_PREFIX = "seq:"


@dataclass(frozen=True)
class EnrollmentView:
    """One enrolment as a person reads it: who, which sequence, what comes next and when, how it ended."""

    id: str
    customer_id: str
    customer_name: str
    sequence: str
    subject_key: str
    job_id: str | None
    status: str
    next_step_index: int
    next_step: str | None
    next_due_at: datetime | None
    last_step: str | None
    last_step_at: datetime | None
    exit_reason: str | None
    anchor_at: datetime
    enrolled_at: datetime
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def held(self) -> dict[str, str] | None:
        """Why the next step waits past its time, and until when (the weekly cap, spacing), while it waits."""
        deferred = self.context.get("deferred")
        if self.status != "active" or not isinstance(deferred, dict) or deferred.get("step") != self.next_step:
            return None
        return {"until": str(deferred.get("until", "")), "reason": str(deferred.get("reason", ""))}

    def as_json(self) -> dict[str, Any]:
        """The API shape."""
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "sequence": self.sequence,
            "status": self.status,
            "next_step": self.next_step,
            "next_due_at": iso(self.next_due_at),
            "last_step": self.last_step,
            "last_step_at": iso(self.last_step_at),
            "exit_reason": self.exit_reason,
            "held": self.held,
            "enrolled_at": iso(self.enrolled_at),
        }


@dataclass(frozen=True)
class Replayed:
    """A moment in the window that starts sequences: a job's current status, or a rating."""

    trigger: str
    customer_id: str
    at: datetime
    job_id: str | None
    ref: str  # the job's id, or the rating activity's id


def _name(row: Any) -> str:
    full = " ".join(part for part in (row.first_name, row.last_name) if part)
    return str(row.name or full or row.customer_id[:8])


def list_enrollments(
    conn: Connection,
    account_id: str,
    *,
    customer_id: str | None = None,
    sequence: str | None = None,
    status: str | None = None,
    subject_prefix: str | None = None,
    limit: int = 50,
) -> list[EnrollmentView]:
    """Enrolments, newest first, each with its next step and due time read from its pending timer."""
    e, c = enrollments.c, customers.c
    query = (
        select(enrollments, c.name, c.first_name, c.last_name)
        .join(customers, c.id == e.customer_id)
        .where(e.account_id == account_id)
    )
    if customer_id is not None:
        query = query.where(e.customer_id == customer_id)
    if sequence is not None:
        query = query.where(e.sequence == sequence)
    if status is not None:
        query = query.where(e.status == status)
    if subject_prefix is not None:
        query = query.where(e.subject_key.startswith(subject_prefix, autoescape=True))
    rows = conn.execute(query.order_by(e.enrolled_at.desc(), e.id).limit(limit)).all()
    pending = _pending_steps(conn, account_id, {r.customer_id for r in rows if r.status == "active"})
    views = []
    for r in rows:
        step, due = pending.get(r.id, (None, None)) if r.status == "active" else (None, None)
        views.append(
            EnrollmentView(
                id=r.id,
                customer_id=r.customer_id,
                customer_name=_name(r),
                sequence=r.sequence,
                subject_key=r.subject_key,
                job_id=r.job_id,
                status=r.status,
                next_step_index=r.next_step,
                next_step=step,
                next_due_at=due,
                last_step=r.last_step,
                last_step_at=r.last_step_at,
                exit_reason=r.exit_reason,
                anchor_at=r.anchor_at,
                enrolled_at=r.enrolled_at,
                context=dict(r.context or {}),
            )
        )
    return views


def _pending_steps(conn: Connection, account_id: str, customer_ids: set[str]) -> dict[str, tuple[str | None, datetime]]:
    """Enrolment id → (step name, due time) of its earliest pending step timer."""
    if not customer_ids:
        return {}
    t = timers.c
    rows = conn.execute(
        select(t.key, t.payload, t.due_at)
        .where(
            t.account_id == account_id,
            t.status == "pending",
            t.customer_id.in_(customer_ids),
            t.key.startswith(_STEP_PREFIX, autoescape=True),
        )
        .order_by(t.due_at, t.id)
    ).all()
    found: dict[str, tuple[str | None, datetime]] = {}
    for r in rows:
        enrollment_id = r.key.split(":")[1]
        name = r.payload.get("name") if isinstance(r.payload, dict) else None
        found.setdefault(enrollment_id, (str(name) if name is not None else None, r.due_at))
    return found


def triggers_since(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[Replayed]:
    """What started sequences in a window, oldest first: each job's current status, and each rating received."""
    j, a = jobs.c, activities.c
    job_rows = conn.execute(
        select(j.id, j.customer_id, j.status, j.status_at).where(
            j.account_id == account_id,
            j.status.in_(TRIGGER_STATUSES),
            j.status_at >= since,
            j.status_at <= until,
        )
    ).all()
    rating_rows = conn.execute(
        select(a.id, a.customer_id, a.at).where(
            a.account_id == account_id,
            a.kind == "rating.received",
            a.applied.is_(True),
            a.at >= since,
            a.at <= until,
        )
    ).all()
    found = [Replayed(f"job.{r.status}", r.customer_id, r.status_at, r.id, r.id) for r in job_rows]
    found += [Replayed("rating.received", r.customer_id, r.at, None, str(r.id)) for r in rating_rows]
    return sorted(found, key=lambda item: (item.at, item.trigger, item.ref))


def latest_job_id(conn: Connection, account_id: str, customer_id: str, before: datetime | None = None) -> str | None:
    """The customer's job whose status changed last (at or before ``before`` when given), or None."""
    j = jobs.c
    query = select(j.id).where(j.account_id == account_id, j.customer_id == customer_id)
    if before is not None:
        query = query.where(j.status_at <= before)
    found: str | None = conn.execute(query.order_by(j.status_at.desc(), j.id).limit(1)).scalar()
    return found
