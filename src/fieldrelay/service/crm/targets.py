"""What the service asks of an outside CRM (HubSpot, Salesforce, a signed webhook): write one mapped change.

A change is said in fieldrelay's words (its field names, its pipeline stages); each connector translates it into its
vendor's. The outbox row holds only what changed and when (``QueuedChange``: the event, its time, the fields it wrote,
the timeline note); the contact, the mapped fields and the deal are read from the customer's current record when the
row is delivered (service/crm/sync.py ``current``), so a retry of any age never writes an older state over a newer one.
A row written by an earlier release (with a stored contact) is read the same way: its stored state is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from fieldrelay.service.outreach.ports import SendFailed

CRM_SYNC = "crm.sync"  # the outbox kind of a change for an outside CRM
MERGED = "customer.merged"  # the event of a merge: the survivor updated, the merged record marked or removed
UNMERGED = "customer.unmerged"  # the event of an undone merge: both records as they are again (the mark cleared)
MERGED_INTO = "merged_into"  # the field name a target marks a merged record with
CONSENT_FIELDS = ("sms_opted_out", "email_opted_out")  # sent where a target's settings name a property for them


@dataclass(frozen=True)
class CrmContact:
    """Who the change is about: the customer as the built-in CRM holds them."""

    fieldrelay_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None  # E.164
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    # The survivor this record was merged into: the target marks or deletes it (crm.on_merge); None once undone.
    merged_into: str | None = None
    # Consent as fieldrelay holds it for the primary phone and email; sent where the CRM has a property for it.
    sms_opted_out: bool = False
    email_opted_out: bool = False


@dataclass(frozen=True)
class CrmDeal:
    """The customer's deal after the change, in fieldrelay's pipeline."""

    fieldrelay_id: str
    stage: str  # the stage id in fieldrelay.yaml's pipeline ("estimate_sent")
    stage_name: str  # its name ("Estimate sent"), which outside pipelines are matched on
    is_open: bool
    value_cents: int | None = None


@dataclass(frozen=True)
class CrmNote:
    """One line for the contact's timeline at the CRM, as it reads on fieldrelay's."""

    at: datetime
    summary: str


@dataclass(frozen=True)
class QueuedChange:
    """What an outbox row holds: which customer changed, by which event, when, what it wrote, its timeline note."""

    key: str  # the outbox row's idempotency key, unique per change and target
    account_id: str
    event: str  # "job.paid", "customer.updated" …
    occurred_at: datetime
    customer_id: str
    changed: tuple[str, ...] = ()  # the fields this event wrote
    note: CrmNote | None = None


@dataclass(frozen=True)
class CrmChange:
    """One change as delivered: the event, the contact with every mapped field as it stands now, the deal, a note.

    A mapped field held as None was cleared in fieldrelay and is cleared at the target (HubSpot: ``""``, Salesforce
    and the webhook: null); a field fieldrelay never wrote, or one the field mapping says never to clear, is absent.
    ``sequence`` grows with every state of the record: a receiver keeps the highest it has applied and drops a
    lower one (the signed webhook sends it; docs/crm.md).
    """

    key: str  # the outbox row's idempotency key, unique per change and target
    account_id: str
    event: str  # "job.paid", "estimate.sent" …
    occurred_at: datetime
    contact: CrmContact
    fields: Mapping[str, Any] = field(default_factory=dict)  # every mapped CRM field by fieldrelay's name
    changed: tuple[str, ...] = ()  # the fields this event wrote
    deal: CrmDeal | None = None
    note: CrmNote | None = None
    sequence: int = 0
    remove: bool = False  # the record was merged into another and crm.on_merge is "delete": remove it at the target


@dataclass(frozen=True)
class CrmWriteResult:
    """What the CRM said: the contact's id there, and a short summary for the delivery attempt."""

    remote_id: str
    detail: str


class CrmWriteFailed(SendFailed):
    """The CRM refused or could not be reached.

    ``retry_after_seconds``: the CRM asked for a pause (429 Retry-After, a spent rate-limit window); the next try is
    no sooner. ``target_down``: the failure says the CRM as a whole is unwell (5xx, timeouts, 429), which is what the
    circuit breaker counts; a refusal of this one record (400, 300 multiple matches) is not.
    """

    def __init__(
        self,
        detail: str,
        *,
        retryable: bool = True,
        status_code: int | None = None,
        error_code: str | None = None,
        retry_after_seconds: float | None = None,
        target_down: bool = False,
    ) -> None:
        super().__init__(detail, retryable=retryable, status_code=status_code, error_code=error_code)
        self.retry_after_seconds = retry_after_seconds
        self.target_down = target_down


class CrmTarget(Protocol):
    """An outside CRM that receives the mapped changes."""

    name: str  # the outbox target: "hubspot", "salesforce", "webhook"

    def write(self, change: CrmChange) -> CrmWriteResult:
        """Write one change; raise CrmWriteFailed when it did not land. Writing the same change twice is harmless."""
        ...


def to_payload(change: CrmChange) -> dict[str, Any]:
    """The change as delivered, as JSON (the signed webhook's body)."""
    deal = change.deal
    return {
        "key": change.key,
        "account_id": change.account_id,
        "event": change.event,
        "occurred_at": change.occurred_at.isoformat(),
        "sequence": change.sequence,
        "remove": change.remove,
        "contact": dict(vars(change.contact)),
        "fields": dict(change.fields),
        "changed": list(change.changed),
        "deal": dict(vars(deal)) if deal is not None else None,
        "note": _note_json(change.note),
    }


def queued_payload(queued: QueuedChange) -> dict[str, Any]:
    """The outbox row's JSON payload: what changed and when, no state."""
    return {
        "key": queued.key,
        "account_id": queued.account_id,
        "event": queued.event,
        "occurred_at": queued.occurred_at.isoformat(),
        "customer_id": queued.customer_id,
        "changed": list(queued.changed),
        "note": _note_json(queued.note),
    }


def from_payload(payload: Mapping[str, Any]) -> QueuedChange:
    """The change an outbox row queued; ValueError (or KeyError/TypeError) when the payload is not one.

    A row queued by an earlier release names its customer inside the stored contact; that contact is not used.
    """
    note = payload.get("note")
    customer_id = payload.get("customer_id") or payload["contact"]["fieldrelay_id"]
    return QueuedChange(
        key=str(payload["key"]),
        account_id=str(payload["account_id"]),
        event=str(payload["event"]),
        occurred_at=datetime.fromisoformat(payload["occurred_at"]),
        customer_id=str(customer_id),
        changed=tuple(payload.get("changed") or ()),
        note=CrmNote(at=datetime.fromisoformat(note["at"]), summary=str(note["summary"])) if note else None,
    )


def _note_json(note: CrmNote | None) -> dict[str, str] | None:
    return {"at": note.at.isoformat(), "summary": note.summary} if note is not None else None
