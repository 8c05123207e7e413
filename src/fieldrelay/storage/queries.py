"""Read models for the API, CLI and reports: customers, timelines, messages, readiness counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from fieldrelay.storage import contact_points
from fieldrelay.storage.prepared import upsert_into
from fieldrelay.storage.tables import (
    activities,
    customer_emails,
    customer_equipment,
    customer_fields,
    customer_phones,
    customers,
    deals,
    heartbeats,
    inbox,
    jobs,
    messages,
    outbox,
    service_history,
    timers,
)


def iso(value: datetime | None) -> str | None:
    """An instant as ISO 8601 with a Z, or None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def customer_summary(conn: Connection, account_id: str, customer_id: str) -> dict[str, Any] | None:
    """One customer as the lists show them (any customer, merged-away ones included), or None."""
    row = conn.execute(
        select(customers).where(customers.c.id == customer_id, customers.c.account_id == account_id)
    ).first()
    return {**_customer_view(conn, row), "merged_into": row.merged_into} if row is not None else None


def find_customers(
    conn: Connection, account_id: str, *, phone: str | None = None, email: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Customers holding a phone (E.164) or email, or the most recently changed ones."""
    c = customers.c
    # A record merged into another is reached through its survivor (its ids and contact points moved there).
    query = select(customers).where(c.account_id == account_id, c.merged_into.is_(None))
    if phone is not None:
        query = query.where(
            c.id.in_(
                select(customer_phones.c.customer_id).where(
                    customer_phones.c.account_id == account_id, customer_phones.c.e164 == phone
                )
            )
        )
    if email is not None:
        query = query.where(
            c.id.in_(
                select(customer_emails.c.customer_id).where(
                    customer_emails.c.account_id == account_id, customer_emails.c.email == email
                )
            )
        )
    rows = conn.execute(query.order_by(c.updated_at.desc()).limit(limit)).all()
    return [_customer_view(conn, row) for row in rows]


def _customer_view(conn: Connection, row: Any) -> dict[str, Any]:
    # Primary first: the phone and email texts, emails and the outside CRMs use (storage/contact_points.py).
    phones = list(
        conn.execute(
            select(customer_phones.c.e164)
            .where(customer_phones.c.customer_id == row.id)
            .order_by(*contact_points.primary_first(customer_phones))
        ).scalars()
    )
    emails = list(
        conn.execute(
            select(customer_emails.c.email)
            .where(customer_emails.c.customer_id == row.id)
            .order_by(*contact_points.primary_first(customer_emails))
        ).scalars()
    )
    job_rows = conn.execute(
        select(jobs.c.id, jobs.c.status, jobs.c.status_at)
        .where(jobs.c.customer_id == row.id)
        .order_by(jobs.c.created_at)
    ).all()
    return {
        "id": row.id,
        "name": row.name,
        "primary_phone": phones[0] if phones else None,
        "primary_email": emails[0] if emails else None,
        "phones": phones,
        "emails": emails,
        "address": {
            "street": row.street,
            "unit": row.unit,
            "city": row.city,
            "state": row.state,
            "postal_code": row.postal_code,
        },
        "lifecycle_stage": row.lifecycle_stage,
        "jobs": [{"id": j.id, "status": j.status, "status_at": iso(j.status_at)} for j in job_rows],
    }


def customer_detail(conn: Connection, account_id: str, customer_id: str) -> dict[str, Any] | None:
    """One customer with their CRM fields (value, source, as of), deals, service history and equipment."""
    row = conn.execute(
        select(customers).where(customers.c.id == customer_id, customers.c.account_id == account_id)
    ).first()
    if row is None:
        return None
    f, d, h, e = customer_fields.c, deals.c, service_history.c, customer_equipment.c
    fields = conn.execute(select(customer_fields).where(f.customer_id == row.id).order_by(f.field)).all()
    deal_rows = conn.execute(select(deals).where(d.customer_id == row.id).order_by(d.created_at)).all()
    history = conn.execute(select(service_history).where(h.customer_id == row.id).order_by(h.completed_at)).all()
    equipment = conn.execute(select(customer_equipment).where(e.customer_id == row.id).order_by(e.id)).all()
    return {
        **_customer_view(conn, row),
        "merged_into": row.merged_into,
        "lead_source": row.lead_source,
        "sms_opted_out": row.sms_opted_out,
        "fields": {r.field: {"value": r.value, "source": r.source, "as_of": iso(r.value_at)} for r in fields},
        "deals": [
            {
                "id": r.id,
                "stage": r.stage,
                "stage_at": iso(r.stage_at),
                "open": r.is_open,
                "value_cents": r.value_cents,
                "reason": r.reason,
            }
            for r in deal_rows
        ],
        "service_history": [
            {
                "job_id": r.job_id,
                "completed_at": iso(r.completed_at),
                "service_type": r.service_type,
                "description": r.description,
                "technicians": r.technicians,
                "line_items": r.line_items,
            }
            for r in history
        ],
        "equipment": [
            {
                "name": r.name,
                "installed_on": r.installed_on.isoformat(),
                "warranty_ends_on": r.warranty_ends_on.isoformat() if r.warranty_ends_on else None,
                "source": r.source,
                "job_id": r.job_id,
            }
            for r in equipment
        ],
    }


def customer_exists(conn: Connection, account_id: str, customer_id: str) -> bool:
    """Whether the account has this customer."""
    c = customers.c
    return conn.execute(select(c.id).where(c.id == customer_id, c.account_id == account_id)).first() is not None


def timeline(conn: Connection, account_id: str, customer_id: str) -> list[dict[str, Any]]:
    """The customer's activity, oldest first."""
    a = activities.c
    rows = conn.execute(
        select(a.at, a.kind, a.summary, a.source, a.applied)
        .where(a.account_id == account_id, a.customer_id == customer_id)
        .order_by(a.at, a.id)
    ).all()
    return [
        {"at": iso(r.at), "kind": r.kind, "summary": r.summary, "source": r.source, "applied": r.applied} for r in rows
    ]


def list_messages(conn: Connection, account_id: str, customer_id: str | None, limit: int = 200) -> list[dict[str, Any]]:
    """Messages, newest planned first, optionally for one customer."""
    m = messages.c
    query = select(messages).where(m.account_id == account_id)
    if customer_id:
        query = query.where(m.customer_id == customer_id)
    rows = conn.execute(query.order_by(m.scheduled_for.desc()).limit(limit)).all()
    return [
        {
            "id": r.id,
            "channel": r.channel,
            "purpose": r.purpose,
            "to": r.to_address,
            "status": r.status,
            "scheduled_for": iso(r.scheduled_for),
            "sent_at": iso(r.sent_at),
        }
        for r in rows
    ]


def beat(conn: Connection, name: str, now: datetime) -> None:
    """Write the ``name`` heartbeat row: proof, once committed, that the database takes writes."""
    conn.execute(upsert_into(conn.dialect.name, heartbeats, ("name",), ("beat_at",)), {"name": name, "beat_at": now})


def readiness(conn: Connection, now: datetime) -> dict[str, int]:
    """Work waiting: inbox rows not yet applied, outbox rows not yet delivered, timers due."""
    inbox_pending = conn.execute(
        select(func.count()).select_from(inbox).where(inbox.c.status.in_(("pending", "processing")))
    ).scalar_one()
    outbox_pending = conn.execute(
        select(func.count()).select_from(outbox).where(outbox.c.status.in_(("pending", "sending")))
    ).scalar_one()
    timers_due = conn.execute(
        select(func.count())
        .select_from(timers)
        .where(
            or_(
                and_(timers.c.status == "pending", timers.c.next_attempt_at <= now),
                timers.c.status == "processing",
            )
        )
    ).scalar_one()
    return {"inbox_pending": inbox_pending, "outbox_pending": outbox_pending, "timers_due": timers_due}


def oldest_pending_ages(conn: Connection, now: datetime) -> dict[str, float]:
    """Per table, seconds the oldest waiting inbox row, due timer or undelivered outbox row has waited (0: none)."""
    waiting = (
        (inbox, inbox.c.received_at, inbox.c.status.in_(("pending", "processing"))),
        (timers, timers.c.due_at, and_(timers.c.status.in_(("pending", "processing")), timers.c.due_at <= now)),
        (outbox, outbox.c.created_at, outbox.c.status.in_(("pending", "sending"))),
    )
    ages: dict[str, float] = {}
    for table, since, where in waiting:
        oldest = conn.execute(select(func.min(since)).where(where)).scalar()
        ages[table.name] = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return ages


def oldest_pending_by_target(conn: Connection, account_id: str, now: datetime) -> dict[str, float]:
    """Per outbox target with undelivered rows, seconds its oldest undelivered row has waited."""
    c = outbox.c
    rows = conn.execute(
        select(c.target, func.min(c.created_at))
        .where(c.account_id == account_id, c.status.in_(("pending", "sending")))
        .group_by(c.target)
    ).all()
    return {target: max((now - oldest).total_seconds(), 0.0) for target, oldest in rows}
