"""Rows the KPIs count, written straight to the database: leads, completed and paid jobs with the texts after them,
sent estimates and their follow-ups, referrals. Each call writes one customer and what happened to them."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, insert

from fieldrelay.storage.handoff.tables import referrals, referrers
from fieldrelay.storage.sequences.tables import enrollments
from fieldrelay.storage.tables import activities, customers, deals, jobs, messages, service_history

ACCOUNT = "default"


class KpiShop:
    """A shop's history for the KPI pages, one fact at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ids = itertools.count(1)

    def customer(self, at: datetime, source: str | None = None) -> str:
        """A customer (with a lead source); returns their id."""
        customer_id = f"c{next(self._ids)}"
        with self.engine.begin() as conn:
            conn.execute(
                insert(customers).values(
                    id=customer_id,
                    account_id=ACCOUNT,
                    lead_source=source,
                    lifecycle_stage="customer",
                    created_at=at,
                    updated_at=at,
                )
            )
        return customer_id

    def lead(self, at: datetime, answered_after: timedelta | None, source: str | None = None) -> str:
        """A lead arriving at ``at``, first answered after ``answered_after`` (None: not yet); returns the customer."""
        customer_id = self.customer(at, source)
        with self.engine.begin() as conn:
            conn.execute(
                insert(deals).values(
                    id=f"d-{customer_id}",
                    account_id=ACCOUNT,
                    customer_id=customer_id,
                    stage="new_lead",
                    stage_at=at,
                    is_open=True,
                    lead_at=at,
                    first_response_at=at + answered_after if answered_after is not None else None,
                    created_at=at,
                    updated_at=at,
                )
            )
        return customer_id

    def job(
        self,
        completed_at: datetime,
        technicians: list[str],
        touched_after: timedelta | None = None,
        paid_after: timedelta | None = None,
        review_clicked: bool = False,
    ) -> str:
        """A completed job, the first text after it (``touched_after``), its payment and a review ask (clicked or
        not) when paid; returns the job id."""
        customer_id = self.customer(completed_at)
        job_id = f"j-{customer_id}"
        paid_at = completed_at + paid_after if paid_after is not None else None
        with self.engine.begin() as conn:
            conn.execute(
                insert(jobs).values(
                    id=job_id,
                    account_id=ACCOUNT,
                    customer_id=customer_id,
                    status="paid" if paid_at else "completed",
                    status_at=paid_at or completed_at,
                    technicians=technicians,
                    total_cents=25_000,
                    paid_at=paid_at,
                    created_at=completed_at,
                    updated_at=completed_at,
                )
            )
            conn.execute(
                insert(service_history).values(
                    account_id=ACCOUNT,
                    customer_id=customer_id,
                    job_id=job_id,
                    completed_at=completed_at,
                    technicians=technicians,
                    line_items=[],
                    recorded_at=completed_at,
                )
            )
            if touched_after is not None:
                self._message(conn, customer_id, job_id, "job.completed", completed_at + touched_after)
            if paid_at is not None:
                clicked = paid_at + timedelta(hours=2) if review_clicked else None
                self._message(conn, customer_id, job_id, "review_request", paid_at + timedelta(minutes=30), clicked)
        return job_id

    def _message(
        self,
        conn: Connection,
        customer_id: str,
        job_id: str,
        purpose: str,
        sent_at: datetime,
        clicked: datetime | None = None,
    ) -> None:
        self.message(conn, customer_id, job_id, purpose, sent_at - timedelta(minutes=30), sent_at, sent_at, clicked)

    def message(
        self,
        conn: Connection,
        customer_id: str,
        job_id: str | None,
        purpose: str,
        trigger_at: datetime,
        scheduled_for: datetime,
        sent_at: datetime | None,
        clicked: datetime | None = None,
        channel: str = "sms",
        status: str = "delivered",
        platform: str | None = None,
    ) -> None:
        """One message to the customer (``sent_at`` None: not sent yet); ``platform``: the review site of its link."""
        conn.execute(
            insert(messages).values(
                id=f"m{next(self._ids)}",
                account_id=ACCOUNT,
                customer_id=customer_id,
                job_id=job_id,
                channel=channel,
                purpose=purpose,
                to_address="+15125550100",
                body="text",
                status=status if sent_at else "scheduled",
                scheduled_for=scheduled_for,
                sent_at=sent_at,
                trigger_at=trigger_at,
                created_at=trigger_at,
                clicked_at=clicked,
                review_platform=platform,
            )
        )

    def review_ask(
        self,
        paid_at: datetime,
        technicians: list[str],
        scheduled_for: datetime,
        sent: bool = True,
        clicked: bool = False,
        purpose: str = "review_request",
        channel: str = "sms",
        status: str = "delivered",
        platform: str | None = "google",
    ) -> None:
        """A paid job and one review ask about it, planned for ``scheduled_for`` (sent then, or not yet)."""
        job_id = self.job(paid_at - timedelta(hours=1), technicians)
        with self.engine.begin() as conn:
            sent_at = scheduled_for if sent else None
            clicked_at = scheduled_for + timedelta(hours=1) if clicked else None
            customer_id = job_id.removeprefix("j-")
            self.message(
                conn,
                customer_id,
                job_id,
                purpose,
                paid_at,
                scheduled_for,
                sent_at,
                clicked_at,
                channel,
                status,
                platform,
            )

    def estimate(self, at: datetime, followed_after: timedelta | None) -> str:
        """An estimate sent at ``at``, followed up after ``followed_after`` (None: never); returns the customer."""
        customer_id = self.customer(at)
        entries = [("estimate.sent", at)]
        if followed_after is not None:
            entries.append(("followup.logged", at + followed_after))
        with self.engine.begin() as conn:
            for kind, moment in entries:
                conn.execute(
                    insert(activities).values(
                        account_id=ACCOUNT,
                        customer_id=customer_id,
                        at=moment,
                        kind=kind,
                        summary=kind,
                        source="test",
                        applied=True,
                        recorded_at=moment,
                    )
                )
        return customer_id

    def referral(self, at: datetime, status: str) -> None:
        """A referral captured at ``at``, now at ``status``."""
        referrer, referred = self.customer(at), self.customer(at)
        with self.engine.begin() as conn:
            conn.execute(
                insert(referrers).values(
                    id=f"r-{referrer}",
                    account_id=ACCOUNT,
                    customer_id=referrer,
                    code=f"CODE{referrer}",
                    enrolled_via="hand",
                    enrolled_at=at,
                    status="active",
                )
            )
            conn.execute(
                insert(referrals).values(
                    id=f"rf-{referred}",
                    account_id=ACCOUNT,
                    referrer_id=f"r-{referrer}",
                    referred_customer_id=referred,
                    code=f"CODE{referrer}",
                    captured_via="code",
                    captured_at=at,
                    status=status,
                    flags=[],
                    updated_at=at,
                )
            )

    def enrolment(
        self,
        sequence: str,
        at: datetime,
        status: str = "active",
        last_step: str | None = None,
        exit_reason: str | None = None,
        sent: dict[str, str] | None = None,
        booked_cents: int | None = None,
    ) -> str:
        """A customer enrolled at ``at``; ``sent`` maps each step to the message's fate (sent, delivered, opened,
        clicked: each includes the ones before it); ``booked_cents`` books them a job a day later. Returns the id."""
        customer_id = self.customer(at)
        enrolment_id = f"e-{customer_id}"
        ended = at + timedelta(days=3)
        with self.engine.begin() as conn:
            conn.execute(
                insert(enrollments).values(
                    id=enrolment_id,
                    account_id=ACCOUNT,
                    sequence=sequence,
                    subject_key=customer_id,
                    customer_id=customer_id,
                    anchor_at=at,
                    status=status,
                    next_step=len(sent or {}),
                    last_step=last_step,
                    exit_reason=exit_reason,
                    context={},
                    enrolled_at=at,
                    updated_at=at if status == "active" else ended,
                )
            )
            fates = ("sent", "delivered", "opened", "clicked")
            for step, fate in (sent or {}).items():
                reached = fates.index(fate)
                moment = at + timedelta(hours=1)
                conn.execute(
                    insert(messages).values(
                        id=f"m{next(self._ids)}",
                        account_id=ACCOUNT,
                        customer_id=customer_id,
                        channel="email",
                        purpose=f"{sequence}.{step}",
                        to_address="a@b.example",
                        body="text",
                        status="delivered" if reached >= 1 else "sent",
                        scheduled_for=moment,
                        sent_at=moment,
                        created_at=moment,
                        enrollment_id=enrolment_id,
                        opened_at=moment if reached >= 2 else None,
                        clicked_at=moment if reached >= 3 else None,
                    )
                )
            if booked_cents is not None:
                conn.execute(
                    insert(jobs).values(
                        id=f"jb-{customer_id}",
                        account_id=ACCOUNT,
                        customer_id=customer_id,
                        status="scheduled",
                        status_at=at + timedelta(days=1),
                        technicians=[],
                        total_cents=booked_cents,
                        created_at=at + timedelta(days=1),
                        updated_at=at + timedelta(days=1),
                    )
                )
        return enrolment_id
