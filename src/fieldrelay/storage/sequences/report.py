"""The follow-up figures of the report: enrolments, messages the sequences sent or held back, tasks, review clicks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from fieldrelay.storage.sequences.tables import enrollments, tasks
from fieldrelay.storage.tables import messages

# Messages that reached the provider: a click can only follow one of these.
_WENT_OUT = ("sent", "delivered")


@dataclass(frozen=True)
class FollowupFigures:
    """How the sequences are doing, as of one moment."""

    enrollments: dict[str, int]  # by status: active, completed, exited
    messages: dict[str, int]  # sequence messages by status: delivered, cancelled (withheld), failed …
    tasks_open: int
    tasks_overdue: int
    review_asks_out: int  # review requests and review follow-ups that went out
    review_clicks: int  # of those, how many the customer clicked (the review link)

    @property
    def review_click_rate(self) -> float | None:
        """Clicked review asks over review asks that went out; None before the first went out."""
        return self.review_clicks / self.review_asks_out if self.review_asks_out else None


def followup_figures(conn: Connection, account_id: str, now: datetime) -> FollowupFigures:
    """Read the follow-up figures of one account; ``now`` decides which open tasks are overdue."""
    e, m, t = enrollments.c, messages.c, tasks.c
    by_status: dict[str, int] = dict(
        conn.execute(select(e.status, func.count()).where(e.account_id == account_id).group_by(e.status)).all()
    )
    sent: dict[str, int] = dict(
        conn.execute(
            select(m.status, func.count())
            .where(m.account_id == account_id, m.enrollment_id.is_not(None))
            .group_by(m.status)
        ).all()
    )
    open_tasks = select(func.count()).where(t.account_id == account_id, t.status == "open")
    review = (m.account_id == account_id) & m.purpose.like("review%") & m.status.in_(_WENT_OUT)
    return FollowupFigures(
        enrollments=by_status,
        messages=sent,
        tasks_open=int(conn.execute(open_tasks).scalar_one()),
        tasks_overdue=int(conn.execute(open_tasks.where(t.due_at < now)).scalar_one()),
        review_asks_out=int(conn.execute(select(func.count()).where(review)).scalar_one()),
        review_clicks=int(conn.execute(select(func.count()).where(review, m.clicked_at.is_not(None))).scalar_one()),
    )
