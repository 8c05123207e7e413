"""What the service asks of an outside CRM (HubSpot, Salesforce, a signed webhook): write one mapped change.

A change is said in fieldrelay's words (its field names, its pipeline stages); each connector translates it into its
vendor's. The change travels through the outbox as JSON (``to_payload`` / ``from_payload``), so a row written by one
release is still read by the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from fieldrelay.service.outreach.ports import SendFailed

CRM_SYNC = "crm.sync"  # the outbox kind of a change for an outside CRM


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
class CrmChange:
    """One mapped change: the event, the contact with every mapped field as it stands after it, the deal, a note."""

    key: str  # the outbox row's idempotency key, unique per change and target
    account_id: str
    event: str  # "job.paid", "estimate.sent" …
    occurred_at: datetime
    contact: CrmContact
    fields: Mapping[str, Any] = field(default_factory=dict)  # every mapped CRM field by fieldrelay's name
    changed: tuple[str, ...] = ()  # the fields this event wrote
    deal: CrmDeal | None = None
    note: CrmNote | None = None


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
    """The change as the outbox row's JSON payload."""
    deal = change.deal
    note = change.note
    return {
        "key": change.key,
        "account_id": change.account_id,
        "event": change.event,
        "occurred_at": change.occurred_at.isoformat(),
        "contact": dict(vars(change.contact)),
        "fields": dict(change.fields),
        "changed": list(change.changed),
        "deal": dict(vars(deal)) if deal is not None else None,
        "note": {"at": note.at.isoformat(), "summary": note.summary} if note is not None else None,
    }


def from_payload(payload: Mapping[str, Any]) -> CrmChange:
    """The change an outbox row carries; ValueError (or KeyError/TypeError) when the payload is not one."""
    deal = payload.get("deal")
    note = payload.get("note")
    return CrmChange(
        key=str(payload["key"]),
        account_id=str(payload["account_id"]),
        event=str(payload["event"]),
        occurred_at=datetime.fromisoformat(payload["occurred_at"]),
        contact=CrmContact(**payload["contact"]),
        fields=dict(payload.get("fields") or {}),
        changed=tuple(payload.get("changed") or ()),
        deal=CrmDeal(**deal) if deal else None,
        note=CrmNote(at=datetime.fromisoformat(note["at"]), summary=str(note["summary"])) if note else None,
    )
