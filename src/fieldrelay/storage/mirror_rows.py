"""Mirror rows as the service layer's records (customers, jobs, messages)."""

from __future__ import annotations

from typing import Any

from fieldrelay.service.records import CustomerRecord, JobRecord, MessageRecord


def customer_record(row: Any) -> CustomerRecord:
    """A customers row as a record."""
    return CustomerRecord(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        street=row.street,
        city=row.city,
        state=row.state,
        postal_code=row.postal_code,
        lead_source=row.lead_source,
        sms_opted_out=row.sms_opted_out,
        source_updated_at=row.source_updated_at,
        unit=row.unit,
        merged_into=row.merged_into,
    )


def job_record(row: Any) -> JobRecord:
    """A jobs row as a record."""
    return JobRecord(
        id=row.id,
        customer_id=row.customer_id,
        status=row.status,
        status_at=row.status_at,
        service_type=row.service_type,
        total_cents=row.total_cents,
        paid_at=row.paid_at,
        description=row.description,
        scheduled_start=row.scheduled_start,
        technicians=tuple(row.technicians or ()),
        balance_cents=row.balance_cents,
        scheduled_end=row.scheduled_end,
        line_items=tuple(row.line_items) if row.line_items is not None else None,
    )


def message_record(row: Any) -> MessageRecord | None:
    """A messages row as a record, None for no row."""
    if row is None:
        return None
    return MessageRecord(
        id=row.id,
        customer_id=row.customer_id,
        job_id=row.job_id,
        purpose=row.purpose,
        channel=row.channel,
        status=row.status,
        scheduled_for=row.scheduled_for,
        to_address=row.to_address,
        status_at=row.status_at,
    )
