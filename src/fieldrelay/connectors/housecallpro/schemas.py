"""Housecall Pro webhook payload models.

Shapes follow the Housecall v1 public API schemas (Job, Estimate, JobInvoice; see
../shared/payloads/housecallpro/openapi-schema-excerpt.housecall.v1.json) wrapped in the webhook envelope
``{"event", "event_occurred_at", "company_id", <object>}`` known only from integrators' captured deliveries.
Unknown fields are allowed: Housecall Pro adds fields without notice. Money is in cents.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class HcpAddress(_Lenient):
    """A customer or job address."""

    id: str | None = None
    street: str | None = None
    street_line_2: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


class HcpCustomer(_Lenient):
    """A customer, top-level or embedded in a job or estimate."""

    id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    mobile_number: str | None = None
    home_number: str | None = None
    work_number: str | None = None
    lead_source: str | None = None
    addresses: list[HcpAddress] = Field(default_factory=list)


class HcpEmployee(_Lenient):
    """An employee assigned to a job."""

    id: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class HcpSchedule(_Lenient):
    """A job's schedule."""

    scheduled_start: datetime | None = None
    scheduled_end: datetime | None = None
    arrival_window: int | None = None


class HcpJobType(_Lenient):
    """A job type (service)."""

    name: str | None = None


class HcpJobFields(_Lenient):
    """Custom job fields."""

    job_type: HcpJobType | None = None


class HcpJob(_Lenient):
    """A job segment."""

    id: str
    description: str | None = None
    customer: HcpCustomer | None = None
    address: HcpAddress | None = None
    work_status: str | None = None
    schedule: HcpSchedule | None = None
    total_amount: int | None = None
    outstanding_balance: int | None = None
    assigned_employees: list[HcpEmployee] = Field(default_factory=list)
    job_fields: HcpJobFields | None = None


class HcpEstimateOption(_Lenient):
    """One option of an estimate."""

    id: str | None = None
    name: str | None = None
    total_amount: int | None = None
    approval_status: str | None = None


class HcpEstimate(_Lenient):
    """An estimate."""

    id: str
    estimate_number: str | None = None
    customer: HcpCustomer | None = None
    address: HcpAddress | None = None
    options: list[HcpEstimateOption] = Field(default_factory=list)


class HcpInvoice(_Lenient):
    """An invoice; ``job_id`` links it to its job (field name known only from integrators)."""

    id: str
    job_id: str | None = None
    invoice_number: str | None = None
    status: str | None = None
    amount: int | None = None
    due_amount: int | None = None
    paid_at: datetime | None = None


class HcpEnvelope(_Lenient):
    """The webhook body."""

    event: str
    event_occurred_at: datetime
    company_id: str | None = None
    customer: HcpCustomer | None = None
    job: HcpJob | None = None
    estimate: HcpEstimate | None = None
    invoice: HcpInvoice | None = None
