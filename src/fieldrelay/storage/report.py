"""Figures for ``fieldrelay report`` and the demo, read straight from the database."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from fieldrelay.service.ports import InboundConnector, ParseError, Received
from fieldrelay.storage.tables import activities, customers, external_ids, inbox, jobs, messages


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
    """How many customers the mirror holds."""
    return int(
        conn.execute(
            select(func.count()).select_from(customers).where(customers.c.account_id == account_id)
        ).scalar_one()
    )


def jobs_by_status(conn: Connection, account_id: str) -> dict[str, int]:
    """Job count per status."""
    c = jobs.c
    rows = conn.execute(select(c.status, func.count()).where(c.account_id == account_id).group_by(c.status)).all()
    return {status: int(n) for status, n in sorted(rows)}


def mirrored_job_statuses(conn: Connection, account_id: str) -> dict[tuple[str, str], str]:
    """Mirror status of every job, keyed by (connector, vendor job id)."""
    x = external_ids.c
    rows = conn.execute(
        select(x.connector, x.external_id, jobs.c.status)
        .join(jobs, jobs.c.id == x.entity_id)
        .where(x.account_id == account_id, x.kind == "job")
    ).all()
    return {(r.connector, r.external_id): r.status for r in rows}


def inbox_events(conn: Connection, account_id: str, inbound: Mapping[str, InboundConnector]) -> Iterator[Any]:
    """Re-read every stored delivery into canonical events; unreadable ones are in the error queue already."""
    c = inbox.c
    query = select(c.connector, c.body, c.received_at, c.headers).where(c.account_id == account_id).order_by(c.id)
    for row in conn.execute(query):
        connector = inbound.get(row.connector)
        # A connector whose parse fetches from the vendor's API (Jobber) is not re-read: a report makes no calls.
        if connector is None or getattr(connector, "parse_calls_vendor", False):
            continue
        try:
            yield from connector.parse(row.body, Received(at=row.received_at, headers=row.headers or {})).events
        except ParseError:
            continue


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
