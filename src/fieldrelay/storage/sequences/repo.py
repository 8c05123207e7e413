"""SqlFollowup: enrolments, behaviour queries, the weekly cap, tasks and consent lookups for the sequences engine."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
    union_all,
    update,
)

from fieldrelay.service.sequences.ports import Behaviour, EnrollmentRecord
from fieldrelay.storage import contact_points, prepared
from fieldrelay.storage.prepared import insert_ignore
from fieldrelay.storage.sequences.tables import enrollments, tasks
from fieldrelay.storage.tables import (
    UtcDateTime,
    activities,
    consents,
    customer_emails,
    customer_phones,
    jobs,
    messages,
    timers,
)

_SENT = ("queued", "sending", "sent", "delivered")

# Statements of the per-event path, built once (see storage/prepared.py); parameters are named b_*.
_n, _t, _k, _cp, _ce = enrollments.c, timers.c, consents.c, customer_phones.c, customer_emails.c
_ENROLLMENT = select(enrollments).where(_n.id == bindparam("b_id"), _n.account_id == bindparam("b_account"))
_UPDATE_ENROLLMENT = update(enrollments).where(_n.id == bindparam("b_id"), _n.account_id == bindparam("b_account"))
# No ORDER BY: with one, SQLite walks the account's enrolled_at index (every enrolment of the shop) to save a sort;
# without, it searches (customer_id, status). A customer's few rows are sorted in Python.
_ENROLLMENTS_OF = select(enrollments).where(
    _n.account_id == bindparam("b_account"),
    _n.customer_id == bindparam("b_customer"),
    _n.status.in_(bindparam("b_statuses", expanding=True)),
)
_CANCEL_TIMERS = (
    update(timers)
    .where(_t.account_id == bindparam("b_account"), _t.enrollment_id == bindparam("b_id"), _t.status == "pending")
    .values(status="cancelled", last_error="the enrolment ended")
)
_EMAILS_OF = (
    select(_ce.email)
    .where(_ce.account_id == bindparam("b_account"), _ce.customer_id == bindparam("b_customer"))
    .order_by(*contact_points.primary_first(customer_emails))
)


def _opted_out(channel: str, held: Any) -> Any:
    """Opt-outs of one channel among the addresses ``held`` selects: a search of the unique (account, channel,
    address) index per address (an OR of both channels made SQLite read every opt-out of the shop)."""
    return select(_k.id, _k.channel, _k.address, _k.reason).where(
        _k.account_id == bindparam("b_account"), _k.channel == channel, _k.address.in_(held), _k.opted_out.is_(True)
    )


_OPTED_OUT = union_all(
    _opted_out(
        "sms",
        select(_cp.e164).where(_cp.account_id == bindparam("b_account"), _cp.customer_id == bindparam("b_customer")),
    ),
    _opted_out(
        "email",
        select(_ce.email).where(_ce.account_id == bindparam("b_account"), _ce.customer_id == bindparam("b_customer")),
    ),
)


class SqlFollowup:
    """The FollowupStore half of SqlMirror."""

    _conn: Connection
    _account: str
    _now: datetime

    _lock: bool  # row locks on PostgreSQL (set by SqlMirror)

    def _flushed(self) -> Connection:
        """The connection with the timeline rows held back written first (SqlMirror holds them in the worker)."""
        return self._conn

    def insert_enrollment(self, values: Mapping[str, object]) -> bool:
        """Create an enrolment unless the sequence already has one for this subject."""
        row = {"account_id": self._account, "enrolled_at": self._now, "updated_at": self._now, **values}
        return insert_ignore(self._conn, enrollments, row)

    def get_enrollment(self, enrollment_id: str) -> EnrollmentRecord | None:
        """One enrolment, locked on PostgreSQL."""
        query = prepared.locked(_ENROLLMENT) if self._lock else _ENROLLMENT
        row = self._conn.execute(query, {"b_id": enrollment_id, "b_account": self._account}).first()
        return _enrollment(row) if row is not None else None

    def update_enrollment(self, enrollment_id: str, values: Mapping[str, object]) -> None:
        """Change an enrolment."""
        params = {**values, "updated_at": self._now, "b_id": enrollment_id, "b_account": self._account}
        self._conn.execute(_UPDATE_ENROLLMENT, params)

    def enrollments_of(self, customer_id: str, statuses: tuple[str, ...] = ("active",)) -> list[EnrollmentRecord]:
        """A customer's enrolments in these statuses, newest first."""
        params = {"b_account": self._account, "b_customer": customer_id, "b_statuses": list(statuses)}
        rows = sorted(self._conn.execute(_ENROLLMENTS_OF, params), key=lambda row: row.id)
        rows.sort(key=lambda row: row.enrolled_at, reverse=True)  # stable: newest first, then by id
        return [_enrollment(row) for row in rows]

    def cancel_timers(self, enrollment_id: str) -> int:
        """Cancel the enrolment's pending step timers (through ix_timers_enrollment)."""
        result = self._conn.execute(_CANCEL_TIMERS, {"b_account": self._account, "b_id": enrollment_id})
        return int(result.rowcount or 0)

    def behaviour_since(
        self, customer_id: str, since: datetime, replies_since: datetime, enrollment_id: str, job_id: str | None
    ) -> Behaviour:
        """What the customer did: bookings and reviews since ``since``, replies since ``replies_since``."""
        a, m, j = activities.c, messages.c, jobs.c
        # The enrolment is this account's (read through it), so its messages are found by the enrolment alone: with
        # the account beside it, SQLite (never ANALYZEd in a shop; it ranks indexes by equality columns matched) may
        # pick the account's index and walk every message the shop ever sent.
        mine = m.enrollment_id == enrollment_id
        other_job = j.id != job_id if job_id is not None else true()
        review_clicked = and_(
            m.account_id == self._account,
            m.customer_id == customer_id,
            m.purpose.startswith("review"),
            m.clicked_at >= since,
        )
        query = select(
            exists().where(
                a.account_id == self._account,
                a.customer_id == customer_id,
                a.kind == "message.replied",
                a.at >= replies_since,
            ),
            exists().where(mine, m.opened_at.is_not(None)),
            exists().where(mine, m.clicked_at.is_not(None)),
            exists().where(
                j.account_id == self._account, j.customer_id == customer_id, j.created_at >= since, other_job
            ),
            or_(
                exists().where(review_clicked),
                exists().where(
                    a.account_id == self._account, a.customer_id == customer_id, a.kind == "review.left", a.at >= since
                ),
            ),
        )
        replied, opened, clicked, booked, reviewed = self._flushed().execute(query).one()
        return Behaviour(
            replied=bool(replied),
            opened=bool(opened),
            clicked=bool(clicked),
            booked_again=bool(booked),
            review_left=bool(reviewed),
        )

    def marketing_touches_since(self, customer_id: str, since: datetime) -> dict[str, datetime]:
        """The customer's marketing touches after ``since`` (exclusive): touch → when its first message went."""
        m = messages.c
        # type_coerce: coalesce() would lose the columns' UTC type (SQLite hands back naive text otherwise).
        at = type_coerce(func.coalesce(m.sent_at, m.scheduled_for), UtcDateTime())
        touch = func.coalesce(m.touch, m.id)  # a message outside any step is a touch of its own
        query = (
            select(touch, func.min(at))
            .where(
                m.account_id == self._account,
                m.customer_id == customer_id,
                m.category == "marketing",
                m.status.in_(_SENT),
                at > since,
            )
            .group_by(touch)
        )
        return {row[0]: row[1] for row in self._conn.execute(query)}

    def note_engagement(self, message_id: str, action: str, at: datetime) -> None:
        """Keep the first open (and for a click, the first click) of a message; a click implies an open."""
        m = messages.c
        moment = literal(at, UtcDateTime())
        values: dict[str, Any] = {"opened_at": func.coalesce(m.opened_at, moment)}
        if action == "clicked":
            values["clicked_at"] = func.coalesce(m.clicked_at, moment)
        self._conn.execute(update(messages).where(m.id == message_id, m.account_id == self._account).values(**values))

    def insert_task(self, values: Mapping[str, object]) -> bool:
        """Create a task unless one with the same source exists."""
        row = {"account_id": self._account, "status": "open", "created_at": self._now, **values}
        return insert_ignore(self._conn, tasks, row)

    def emails_of(self, customer_id: str) -> list[str]:
        """The customer's email addresses, the primary first (storage/contact_points.py)."""
        return list(self._conn.execute(_EMAILS_OF, {"b_account": self._account, "b_customer": customer_id}).scalars())

    def opted_out_addresses(self, customer_id: str) -> list[tuple[str, str, str]]:
        """(channel, address, reason) of each of the customer's addresses whose last consent change is an opt-out."""
        rows = self._conn.execute(_OPTED_OUT, {"b_account": self._account, "b_customer": customer_id}).all()
        return [(row.channel, row.address, row.reason) for row in sorted(rows, key=lambda row: row.id)]


def _enrollment(row: Any) -> EnrollmentRecord:
    return EnrollmentRecord(
        id=row.id,
        sequence=row.sequence,
        customer_id=row.customer_id,
        job_id=row.job_id,
        anchor_at=row.anchor_at,
        status=row.status,
        next_step=row.next_step,
        last_step=row.last_step,
        last_step_at=row.last_step_at,
        exit_reason=row.exit_reason,
        context=row.context or {},
        enrolled_at=row.enrolled_at,
    )
