"""Plain records the service reads from the mirror store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CustomerRecord:
    """A customer in the mirror."""

    id: str
    first_name: str | None
    last_name: str | None
    street: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    lead_source: str | None
    sms_opted_out: bool
    source_updated_at: datetime | None


@dataclass(frozen=True)
class JobRecord:
    """A job in the mirror."""

    id: str
    customer_id: str
    status: str
    status_at: datetime
    service_type: str | None
    total_cents: int | None
    paid_at: datetime | None


@dataclass(frozen=True)
class EstimateRecord:
    """An estimate in the mirror."""

    id: str
    customer_id: str
    status: str
    status_at: datetime


@dataclass(frozen=True)
class MessageRecord:
    """A message to a customer."""

    id: str
    customer_id: str
    job_id: str | None
    purpose: str
    channel: str
    status: str
    scheduled_for: datetime
    to_address: str = ""
    status_at: datetime | None = None
