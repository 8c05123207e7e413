"""Figures for ``fieldrelay report`` and the demo, read straight from the database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from sqlalchemy import Connection, and_, func, select

from fieldrelay.service.crm.staleness import MirroredJob, ReceivedEvent, Ref
from fieldrelay.service.ports import InboundConnector, ParseError, Received
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
    """Deliveries received, redeliveries, and inbox rows by status."""
    c = inbox.c
    received, unique = conn.execute(
        select(func.coalesce(func.sum(c.deliveries), 0), func.count()).where(c.account_id == account_id)
    ).one()
    by_status: dict[str, int] = {
        status: int(n)
        for status, n in conn.execute(
            select(c.status, func.count()).where(c.account_id == account_id).group_by(c.status)
        ).all()
    }
    late = conn.execute(
        select(func.count())
        .select_from(activities)
        .where(activities.c.account_id == account_id, activities.c.applied.is_(False))
    ).scalar_one()
    return {
        "received": int(received),
        "duplicates": int(received) - int(unique),
        "unique": int(unique),
        "applied": by_status.get("done", 0),
        "ignored": by_status.get("ignored", 0),
        "errors": by_status.get("error", 0) + by_status.get("dead", 0),
        "pending": by_status.get("pending", 0) + by_status.get("processing", 0),
        "logged_not_applied": int(late),
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


def mirrored_jobs(conn: Connection, account_id: str) -> dict[tuple[str, str], MirroredJob]:
    """Mirror status of every job and the vendor time it is as of, keyed by (connector, vendor job id)."""
    x = external_ids.c
    rows = conn.execute(
        select(x.connector, x.external_id, jobs.c.status, jobs.c.status_at)
        .join(jobs, jobs.c.id == x.entity_id)
        .where(x.account_id == account_id, x.kind == "job")
    ).all()
    return {(r.connector, r.external_id): MirroredJob(r.status, r.status_at) for r in rows}


def customer_owners(conn: Connection, account_id: str) -> dict[Ref, str]:
    """The mirror customer behind every vendor customer, job, estimate and payment id, merges followed."""
    x = external_ids.c
    rows = conn.execute(
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
        .where(x.account_id == account_id, x.kind.in_(("customer", "job", "estimate", "payment")))
    ).all()
    merged: dict[str, str] = {
        r.id: r.merged_into
        for r in conn.execute(
            select(customers.c.id, customers.c.merged_into).where(
                customers.c.account_id == account_id, customers.c.merged_into.is_not(None)
            )
        )
    }
    owners: dict[Ref, str] = {}
    for r in rows:
        owner = r.job_customer or r.estimate_customer or (r.entity_id if r.kind in ("customer", "payment") else None)
        if owner is not None:
            owners[(r.connector, r.kind, r.external_id)] = _survivor(owner, merged)
    return owners


def _survivor(customer_id: str, merged: Mapping[str, str]) -> str:
    """Follow merges to the record that holds a merged customer now (guarding against a cycle)."""
    seen = {customer_id}
    while customer_id in merged and merged[customer_id] not in seen:
        customer_id = merged[customer_id]
        seen.add(customer_id)
    return customer_id


def received_events(
    conn: Connection, account_id: str, inbound: Mapping[str, InboundConnector]
) -> Iterator[ReceivedEvent]:
    """Re-read every stored delivery into canonical events, each with its row's id, status and receive time.

    Unreadable deliveries are skipped: they are in the error queue already, and name no record to count.
    """
    c = inbox.c
    query = (
        select(c.id, c.connector, c.body, c.received_at, c.headers, c.status, c.last_error)
        .where(c.account_id == account_id)
        .order_by(c.id)
    )
    for row in conn.execute(query):
        connector = inbound.get(row.connector)
        # A connector whose parse fetches from the vendor's API (Jobber) is not re-read: a report makes no calls.
        if connector is None or getattr(connector, "parse_calls_vendor", False):
            continue
        try:
            parsed = connector.parse(row.body, Received(at=row.received_at, headers=row.headers or {}))
        except ParseError:
            continue
        for event in parsed.events:
            yield ReceivedEvent(event, row.id, row.status, row.received_at, row.last_error)


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


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, min(len(sorted_values), round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]
