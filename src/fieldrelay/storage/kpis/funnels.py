"""What the Sequences page reads: per sequence, the enrolments of a span and how they ended, and per step the
messages sent, delivered, opened and clicked; with the revenue of jobs booked while a customer was enrolled."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from fieldrelay.storage.sequences.tables import enrollments
from fieldrelay.storage.tables import UtcDateTime, jobs, messages

# Exit reasons (service/sequences/steps.py exit_reason) that are the funnel's replied, booked and opted-out steps.
REPLIED, BOOKED, OPTED_OUT = "replied", "booked again", "opted out"


@dataclass
class StepFigures:
    """One step's messages: sent, delivered, opened, clicked; and enrolments that ended at it, by reason."""

    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    ended: dict[str, int] = field(default_factory=dict)


@dataclass
class SequenceFigures:
    """One sequence over a span."""

    enrolled: int = 0
    active: int = 0
    completed: int = 0
    ended: dict[str, int] = field(default_factory=dict)  # exited, by reason
    steps: dict[str, StepFigures] = field(default_factory=dict)
    revenue_cents: int = 0

    def count(self, reason: str) -> int:
        """Enrolments that exited for ``reason``."""
        return self.ended.get(reason, 0)


def sequence_figures(conn: Connection, account_id: str, since: datetime, until: datetime) -> dict[str, SequenceFigures]:
    """Enrolments that started in the span, by sequence, with their steps' messages and the revenue they brought."""
    e, m, j = enrollments.c, messages.c, jobs.c
    found: dict[str, SequenceFigures] = {}
    started = and_(e.account_id == account_id, e.enrolled_at >= since, e.enrolled_at <= until)
    for name, status, reason, last_step, n in conn.execute(
        select(e.sequence, e.status, e.exit_reason, e.last_step, func.count())
        .where(started)
        .group_by(e.sequence, e.status, e.exit_reason, e.last_step)
    ):
        figures = found.setdefault(name, SequenceFigures())
        figures.enrolled += n
        if status == "active":
            figures.active += n
        elif status == "completed":
            figures.completed += n
        else:
            why = reason or "ended by a person"
            figures.ended[why] = figures.ended.get(why, 0) + n
            step = figures.steps.setdefault(last_step or "(before the first step)", StepFigures())
            step.ended[why] = step.ended.get(why, 0) + n
    went_out = m.sent_at.is_not(None)
    for name, purpose, sent, delivered, opened, clicked in conn.execute(
        select(
            e.sequence,
            m.purpose,
            func.count(case((went_out, 1))),
            func.count(case((m.status == "delivered", 1))),
            func.count(m.opened_at),
            func.count(m.clicked_at),
        )
        .select_from(enrollments)
        .join(messages, m.enrollment_id == e.id)
        # Read from the span's enrolments to their messages (ix_messages_enrollment_funnel covers the counts); the
        # enrolment already belongs to the account, so a filter on the message's account would only tempt SQLite into
        # walking every message of the account.
        .where(started)
        .group_by(e.sequence, m.purpose)
    ):
        step_name = str(purpose).removeprefix(f"{name}.")
        step = found.setdefault(name, SequenceFigures()).steps.setdefault(step_name, StepFigures())
        step.sent, step.delivered, step.opened, step.clicked = sent, delivered, opened, clicked
    # A job booked by the enrolled customer after the enrolment began and before it ended (the enrolment's own job
    # excluded), cancelled ones left out.
    ended_at = case((e.status == "active", literal(until, UtcDateTime())), else_=e.updated_at)
    for name, cents in conn.execute(
        select(e.sequence, func.coalesce(func.sum(j.total_cents), 0))
        .join(jobs, j.customer_id == e.customer_id)
        .where(
            started,
            j.created_at >= e.enrolled_at,
            j.created_at <= ended_at,
            j.status != "cancelled",
            or_(e.job_id.is_(None), j.id != e.job_id),
        )
        .group_by(e.sequence)
    ):
        found.setdefault(name, SequenceFigures()).revenue_cents = int(cents)
    return found
