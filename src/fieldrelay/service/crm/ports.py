"""Store interfaces for the CRM side of the mirror (mapped fields, history, equipment, deals) and for identity."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple, Protocol

from fieldrelay.service.records import CandidateRecord, DealRecord, FieldWrite, IdentityRecord, StoredField


class MirroredJob(NamedTuple):
    """A job's status in the mirror and the vendor time of the event that set it."""

    status: str
    status_at: datetime


@dataclass(frozen=True)
class StoredDelivery:
    """One stored webhook item as intake kept it, and how far the worker got with it."""

    row_id: int
    connector: str
    body: bytes
    received_at: datetime
    status: str  # pending | processing | done | ignored | error | dead
    error: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VendorLink:
    """A vendor id the mirror knows, with the customer of the job or estimate it points at (when it points at one)."""

    connector: str
    kind: str  # as in external_ids: customer | job | estimate | payment
    external_id: str
    entity_id: str
    job_customer: str | None = None
    estimate_customer: str | None = None


class StalenessFacts(Protocol):
    """What the stale-record check reads from the database: plain facts, no judgement (service/crm/staleness.py)."""

    def deliveries(self) -> Iterable[StoredDelivery]:
        """Every stored webhook item of the account, oldest first."""
        ...

    def vendor_links(self) -> Iterable[VendorLink]:
        """Every vendor customer, job, estimate and payment id the mirror holds."""
        ...

    def merged_into(self) -> Mapping[str, str]:
        """Customer id → the customer it was merged into, for every merged customer."""
        ...

    def mirrored_jobs(self) -> Mapping[tuple[str, str], MirroredJob]:
        """Mirror state of every job keyed by (connector, vendor job id)."""
        ...


@dataclass(frozen=True)
class CrmContactState:
    """A customer as an outside CRM is sent them: details, the primary phone and email with their consent, the merge,
    and the sequence of this state (it grows with every CRM change queued for the customer and target)."""

    first_name: str | None
    last_name: str | None
    street: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    phone: str | None
    email: str | None
    merged_into: str | None
    sms_opted_out: bool
    email_opted_out: bool
    sequence: int


class MergeRefused(Exception):
    """A merge or unmerge that cannot be done as asked; the message says why, for a person."""


class CrmStore(Protocol):
    """CRM fields with their provenance, the service history, equipment and deals of a customer."""

    def fields_of(self, customer_id: str) -> dict[str, StoredField]:
        """Every CRM field stored for the customer."""
        ...

    def crm_contact(self, customer_id: str, ordering_key: str) -> CrmContactState:
        """The customer as an outside CRM is sent them, with the sequence of the changes queued under the target's
        ordering key; LookupError when there is no such customer.

        Each change is queued in the transaction that changed the record, so the sequence read with the record says
        which state it is: a later state never has a lower number (the signed webhook's sequence).
        """
        ...

    def write_fields(self, customer_id: str, writes: Mapping[str, FieldWrite]) -> None:
        """Set several fields at once (insert or replace each)."""
        ...

    def add_service_history(
        self,
        customer_id: str,
        job_id: str,
        completed_at: datetime,
        service_type: str | None,
        description: str | None,
        technicians: Sequence[str],
        line_items: Sequence[str],
    ) -> bool:
        """Append the job to the customer's service history unless it is there; True when added."""
        ...

    def add_equipment(
        self,
        customer_id: str,
        job_id: str,
        name: str,
        installed_on: date,
        warranty_ends_on: date | None,
        source: str,
    ) -> bool:
        """Record equipment a job installed unless recorded already; True when added."""
        ...

    def open_balance_cents(self, customer_id: str) -> int:
        """What the customer owes across jobs that are neither paid nor cancelled."""
        ...

    def next_appointment_at(self, customer_id: str) -> datetime | None:
        """The earliest appointment among the customer's jobs that are booked, rescheduled or dispatched."""
        ...

    def open_deal(self, customer_id: str) -> DealRecord | None:
        """The customer's open deal (the newest, should there be several)."""
        ...

    def latest_deal(self, customer_id: str) -> DealRecord | None:
        """The customer's deal changed last, open or closed."""
        ...

    def insert_deal(self, values: Mapping[str, object]) -> str:
        """Create a deal; return its id."""
        ...

    def update_deal(self, deal_id: str, values: Mapping[str, object]) -> None:
        """Change a deal."""
        ...


class IdentityStore(Protocol):
    """Match keys, stored customers as the matcher sees them, the review queue and merges."""

    def customers_by_keys(self, keys: Collection[str], max_postings: int) -> dict[str, list[str]]:
        """Live customers indexed under any of the keys, with the keys each shares; over-shared keys skipped."""
        ...

    def add_identity_keys(self, customer_id: str, keys: Collection[str], *, new: bool = False) -> None:
        """Index the customer under these keys (kept keys stay: an old address still identifies); ``new``: none yet."""
        ...

    def identities_of(self, customer_ids: Collection[str]) -> list[IdentityRecord]:
        """The customers' names, contact points and addresses."""
        ...

    def variants_of(self, customer_ids: Collection[str]) -> dict[str, list[IdentityRecord]]:
        """Per live customer, the records merged into it (directly or through another merge), as they arrived."""
        ...

    def kept_apart(self, customer_ids: Collection[str]) -> set[frozenset[str]]:
        """Pairs of these customers a person said are two people: kept apart in review, or a merge undone."""
        ...

    def add_merge_candidate(
        self, customer_id: str, other_id: str, score: float, rule: str | None, evidence: Sequence[Mapping[str, object]]
    ) -> bool:
        """Put a pair in the review queue unless it is there; True when added."""
        ...

    def merge_customers(
        self,
        survivor_id: str,
        merged_id: str,
        decided_by: str,
        score: float | None,
        evidence: Sequence[Mapping[str, object]],
    ) -> int:
        """Fold one customer into another, undoably; return the merge id. Raise MergeRefused when it cannot be."""
        ...

    def unmerge_customers(self, merge_id: int, by: str) -> tuple[str, str]:
        """Undo a merge; return (survivor id, restored id). Raise MergeRefused when it cannot be undone."""
        ...

    def merge_candidate(self, candidate_id: int) -> CandidateRecord | None:
        """One pair of the review queue."""
        ...

    def decide_candidate(self, candidate_id: int, status: str, by: str) -> None:
        """Record a person's decision on a pair ("distinct"); a merge records itself."""
        ...
