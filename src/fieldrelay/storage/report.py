"""Figures for ``fieldrelay report`` and the demo, read straight from the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, func, select

from fieldrelay.service.crm.ports import MirroredJob, StoredDelivery, VendorLink
from fieldrelay.storage.kpis.reviews import was_held
from fieldrelay.storage.tables import (
    activities,
    customers,
    deals,
    estimates,
    external_ids,
    inbox,
    jobs,
    merge_candidates,
    merges,
    messages,
)


def intake_counts(conn: Connection, account_id: str) -> dict[str, int]:
    """Deliveries received and redelivered; each unique delivery counted once: applied, logged but not applied
    (every event in it older than the record's state), ignored, in the error queue or pending."""
    c, a = inbox.c, activities.c
    received, unique = conn.execute(
        select(func.coalesce(func.sum(c.deliveries), 0), func.count()).where(c.account_id == account_id)
    ).one()
    by_status: dict[str, int] = {
        status: int(n)
        for status, n in conn.execute(
            select(c.status, func.count()).where(c.account_id == account_id).group_by(c.status)
        ).all()
    }
    # A delivery whose timeline entries are all "not applied" changed nothing; one that applied any event counts as
    # applied. Entries written before they named their inbox row count one delivery each.
    stale_rows = (
        select(a.inbox_id)
        .join(inbox, inbox.c.id == a.inbox_id)
        .where(a.account_id == account_id, c.status == "done")
        .group_by(a.inbox_id)
        .having(func.max(case((a.applied.is_(True), 1), else_=0)) == 0)
    )
    late = conn.execute(select(func.count()).select_from(stale_rows.subquery())).scalar_one()
    unlinked = select(func.count()).where(a.account_id == account_id, a.applied.is_(False), a.inbox_id.is_(None))
    late += conn.execute(unlinked).scalar_one()
    done = by_status.get("done", 0)
    return {
        "received": int(received),
        "duplicates": int(received) - int(unique),
        "unique": int(unique),
        "applied": done - min(int(late), done),
        "ignored": by_status.get("ignored", 0),
        "errors": by_status.get("error", 0) + by_status.get("dead", 0),
        "pending": by_status.get("pending", 0) + by_status.get("processing", 0),
        "logged_not_applied": min(int(late), done),
    }


def customer_count(conn: Connection, account_id: str) -> int:
    """How many customers the mirror holds (a record merged into another is not counted)."""
    c = customers.c
    query = select(func.count()).where(c.account_id == account_id, c.merged_into.is_(None))
    return int(conn.execute(query).scalar_one())


def identity_counts(conn: Connection, account_id: str) -> dict[str, int]:
    """Merges (automatic, by a person, undone) and pairs waiting in the review queue."""
    g, m = merges.c, merge_candidates.c
    rows = [
        (by == "auto", undone, n)
        for by, undone, n in conn.execute(
            select(g.decided_by, g.undone_at.is_not(None), func.count())
            .where(g.account_id == account_id)
            .group_by(g.decided_by, g.undone_at.is_not(None))
        ).all()
    ]
    waiting = conn.execute(select(func.count()).where(m.account_id == account_id, m.status == "open")).scalar_one()
    return {
        "merged_automatically": sum(int(n) for auto, undone, n in rows if auto and not undone),
        "merged_by_a_person": sum(int(n) for auto, undone, n in rows if not auto and not undone),
        "merges_undone": sum(int(n) for _, undone, n in rows if undone),
        "waiting_for_review": int(waiting),
    }


def deals_by_stage(conn: Connection, account_id: str) -> dict[str, int]:
    """Deal count per pipeline stage."""
    d = deals.c
    rows = conn.execute(select(d.stage, func.count()).where(d.account_id == account_id).group_by(d.stage)).all()
    return {stage: int(n) for stage, n in sorted(rows)}


def jobs_by_status(conn: Connection, account_id: str) -> dict[str, int]:
    """Job count per status."""
    c = jobs.c
    rows = conn.execute(select(c.status, func.count()).where(c.account_id == account_id).group_by(c.status)).all()
    return {status: int(n) for status, n in sorted(rows)}


class SqlStalenessFacts:
    """The facts the stale-record check reads (service.crm.ports.StalenessFacts), from one account's rows."""

    def __init__(self, conn: Connection, account_id: str) -> None:
        self._conn = conn
        self._account = account_id

    def deliveries(self) -> Iterator[StoredDelivery]:
        """Every stored webhook item of the account, oldest first."""
        c = inbox.c
        query = (
            select(c.id, c.connector, c.body, c.received_at, c.headers, c.status, c.last_error)
            .where(c.account_id == self._account)
            .order_by(c.id)
        )
        for row in self._conn.execute(query):
            yield StoredDelivery(
                row.id, row.connector, row.body, row.received_at, row.status, row.last_error, row.headers or {}
            )

    def vendor_links(self) -> list[VendorLink]:
        """Every vendor customer, job, estimate and payment id, with the customer of the job or estimate it names."""
        x = external_ids.c
        rows = self._conn.execute(
            select(
                x.connector,
                x.kind,
                x.external_id,
                x.entity_id,
                jobs.c.customer_id.label("job_customer"),
                estimates.c.customer_id.label("estimate_customer"),
            )
            # A payment link points at the job it paid, or at the customer it was matched to when no job was open.
            .outerjoin(jobs, and_(jobs.c.id == x.entity_id, x.kind.in_(("job", "payment"))))
            .outerjoin(estimates, and_(estimates.c.id == x.entity_id, x.kind == "estimate"))
            .where(x.account_id == self._account, x.kind.in_(("customer", "job", "estimate", "payment")))
        ).all()
        return [
            VendorLink(r.connector, r.kind, r.external_id, r.entity_id, r.job_customer, r.estimate_customer)
            for r in rows
        ]

    def merged_into(self) -> dict[str, str]:
        """Customer id → the customer it was merged into, for every merged customer."""
        c = customers.c
        query = select(c.id, c.merged_into).where(c.account_id == self._account, c.merged_into.is_not(None))
        return {r.id: r.merged_into for r in self._conn.execute(query)}

    def mirrored_jobs(self) -> dict[tuple[str, str], MirroredJob]:
        """Mirror status of every job and the vendor time it is as of, keyed by (connector, vendor job id)."""
        x = external_ids.c
        rows = self._conn.execute(
            select(x.connector, x.external_id, jobs.c.status, jobs.c.status_at)
            .join(jobs, jobs.c.id == x.entity_id)
            .where(x.account_id == self._account, x.kind == "job")
        ).all()
        return {(r.connector, r.external_id): MirroredJob(r.status, r.status_at) for r in rows}


def review_request_lags(conn: Connection, account_id: str) -> tuple[list[float], dict[str, int]]:
    """Seconds from payment to review-request text sent, and review-request messages by status."""
    m = messages.c
    rows = conn.execute(
        select(m.status, m.trigger_at, m.sent_at).where(m.account_id == account_id, m.purpose == "review_request")
    ).all()
    lags = sorted((r.sent_at - r.trigger_at).total_seconds() for r in rows if r.sent_at and r.trigger_at)
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return lags, statuses


def held_review_requests(conn: Connection, account_id: str, delay: timedelta) -> list[tuple[float, datetime]]:
    """Review requests that went out later than planned because the text window was closed (quiet hours): the
    payment-to-text seconds and the moment each was moved to (``scheduled_for`` past ``trigger_at`` + ``delay``)."""
    m = messages.c
    rows = conn.execute(
        select(m.trigger_at, m.scheduled_for, m.sent_at).where(
            m.account_id == account_id, m.purpose == "review_request", m.sent_at.is_not(None)
        )
    ).all()
    return sorted(
        ((r.sent_at - r.trigger_at).total_seconds(), r.scheduled_for)
        for r in rows
        if r.trigger_at is not None and was_held(r.trigger_at, r.scheduled_for, delay)
    )


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]
