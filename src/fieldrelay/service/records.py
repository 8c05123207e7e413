"""Plain records the service reads from the mirror store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


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
    unit: str | None = None
    merged_into: str | None = None  # the customer this record was merged into (reads follow it)


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
    description: str | None = None
    scheduled_start: datetime | None = None
    technicians: tuple[str, ...] = ()
    balance_cents: int | None = None
    scheduled_end: datetime | None = None
    line_items: tuple[str, ...] | None = None  # the last lines an event named; None: not kept (stored before 0008)


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


@dataclass(frozen=True)
class IntentHolder:
    """The outbox row that holds an intent: its idempotency key, and the purpose of the message it carries."""

    idempotency_key: str
    purpose: str | None


@dataclass(frozen=True)
class StoredField:
    """A CRM field's value, where it came from, and the field event's time it is as of."""

    value: object
    source: str
    value_at: datetime | None


class FieldWrite(NamedTuple):
    """A CRM field's new value, its source and the field event's time it is as of."""

    value: object
    source: str
    value_at: datetime | None


@dataclass(frozen=True)
class DealRecord:
    """A deal in the pipeline."""

    id: str
    customer_id: str
    stage: str
    stage_at: datetime
    is_open: bool
    value_cents: int | None


@dataclass(frozen=True)
class IdentityRecord:
    """What the matcher compares of a stored customer."""

    id: str
    first_name: str | None
    last_name: str | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    street: str | None
    unit: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    lead_source: str | None = None  # a marketplace's phones are masked numbers (domain/identity/channels.py)


@dataclass(frozen=True)
class CandidateRecord:
    """A pair in the review queue."""

    id: int
    customer_id: str  # the newer record
    other_id: str  # the record it may be
    score: float
    rule: str | None
    evidence: list[dict[str, object]]
    status: str
