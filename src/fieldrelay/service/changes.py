"""Changes: what a handler applied to the mirror, handed to the bus so the reactions listed in bus.py follow.

A handler applies one canonical event to the mirror and publishes what changed (``ctx.publish``); it never calls
another capability itself. The bus then runs the reactions its tables list for that kind of change, in order. A
reaction may return the change with more filled in (the field mapping adds the fields it wrote, which the outside
CRMs then receive), and may publish further changes, which follow once the current one's reactions are done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fieldrelay.domain import events as ev
from fieldrelay.service.records import JobRecord


@dataclass(frozen=True)
class Change:
    """Something applied to the mirror that other capabilities react to."""

    customer_id: str
    occurred_at: datetime


@dataclass(frozen=True)
class RecordChanged(Change):
    """A job, estimate or lead event applied: what the field mapping reads, and what the outside CRMs are sent."""

    event: str  # "job.paid", "estimate.sent", "lead.received" …: the field-mapping row and pipeline move it names
    source: str
    summary: str = ""
    record_id: str | None = None  # the job, estimate or lead: with the event and time, the CRM write's key
    written: frozenset[str] = frozenset()  # the CRM fields the field mapping wrote (filled in by crm.mapping)
    job: JobRecord | None = None  # the job as stored after the event
    job_snapshot: ev.JobSnapshot | None = None
    amount_cents: int | None = None
    value_cents: int | None = None  # what the event says the deal is worth
    reason: str | None = None
    estimate: ev.EstimateSnapshot | None = None
    lead: ev.LeadReceived | None = None


@dataclass(frozen=True)
class JobChanged(RecordChanged):
    """A job moved along its lifecycle (booked … paid, cancelled)."""


@dataclass(frozen=True)
class EstimateChanged(RecordChanged):
    """An estimate was sent, accepted or declined."""


@dataclass(frozen=True)
class LeadArrived(RecordChanged):
    """A new enquiry became (or updated) a customer."""


@dataclass(frozen=True)
class ContactChanged(Change):
    """What the outside CRMs hold of a customer changed outside any job, estimate or lead: their details (created,
    updated, a person's edit), a merge or its undo, a consent change."""

    event: str  # "customer.updated", "customer.merged", "consent.opted_out" …: the CRM write's key with the time
    summary: str


@dataclass(frozen=True)
class Refunded(Change):
    """Money went back to the customer (a refund or a chargeback)."""

    summary: str


@dataclass(frozen=True)
class Replied(Change):
    """The customer wrote back (a text or an email), not STOP or HELP."""

    channel: str
    body: str


@dataclass(frozen=True)
class Rated(Change):
    """The customer's reply was a rating an open question asked for."""

    rating: int
    job_id: str | None
    anchor_at: datetime | None


@dataclass(frozen=True)
class OptedOut(Change):
    """An address of the customer's opted out of a channel."""


@dataclass(frozen=True)
class Engaged(Change):
    """The customer opened or clicked one of our messages."""

    message_id: str
    purpose: str
    action: str  # "opened" | "clicked"


@dataclass(frozen=True)
class TextSent(Change):
    """A text to the customer left the provider."""

    purpose: str


@dataclass(frozen=True)
class Triggered(Change):
    """A named moment a sequence may start on (rules/sequences.py TRIGGERS) that is not a record change itself:
    a deal gone to no-decision, a referrer enrolled, a referral rewarded."""

    trigger: str
    subject_key: str
    context: dict[str, object] = field(default_factory=dict)
