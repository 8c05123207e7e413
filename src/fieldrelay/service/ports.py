"""Interfaces the service layer needs; connectors and storage implement them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from fieldrelay.domain.events import FieldEvent
from fieldrelay.service.access.ports import AccessStore
from fieldrelay.service.crm.ports import CrmStore, IdentityStore
from fieldrelay.service.handoff.ports import SopStore
from fieldrelay.service.ops.ports import OpsStore

# Message-provider ports live in ports_messaging; re-exported here for the modules that import them from ports.
from fieldrelay.service.outreach.ports import EmailRequest as EmailRequest
from fieldrelay.service.outreach.ports import EmailSender as EmailSender
from fieldrelay.service.outreach.ports import SendFailed as SendFailed
from fieldrelay.service.outreach.ports import SendResult as SendResult
from fieldrelay.service.outreach.ports import SmsRequest as SmsRequest
from fieldrelay.service.outreach.ports import SmsSender as SmsSender
from fieldrelay.service.records import CustomerRecord, EstimateRecord, IntentHolder, JobRecord, MessageRecord
from fieldrelay.service.referrals.ports import ReferralStore
from fieldrelay.service.sequences.ports import FollowupStore
from fieldrelay.service.tasks.ports import TaskStore


class ParseError(Exception):
    """A correctly signed payload that cannot be understood; stored and shown in the error queue."""


class TemporaryFailure(Exception):
    """Parsing needed a vendor API that failed for now (throttled, down); try again, not before ``retry_after``."""

    def __init__(self, detail: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class Received:
    """What intake recorded about a stored item besides its bytes: when it arrived, and the headers kept with it."""

    at: datetime
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookRequest:
    """One delivery as it arrived, before anything is trusted."""

    headers: Mapping[str, str]  # names in lower case
    body: bytes  # the raw bytes the signature covers
    url: str  # the public URL the vendor posted to (external base URL + path + query)
    client_ip: str | None = None


@dataclass(frozen=True)
class Identified:
    """What identifies one delivery before it is parsed in full: dedupe key and event type."""

    dedupe_key: str
    event_type: str | None


@dataclass(frozen=True)
class Parsed:
    """Canonical events read from one delivery; ``ignored`` says why a known-but-unused event yields none."""

    event_type: str
    events: Sequence[FieldEvent] = field(default_factory=tuple)
    ignored: str | None = None


class InboundConnector(Protocol):
    """A vendor's webhook side: verify on raw bytes, identify the delivery, parse into canonical events."""

    name: str
    # Deliveries accepted per client IP per minute, for endpoints the public can reach (web forms); None: no limit.
    rate_limit_per_minute: int | None
    # Lower-case names of request headers ``parse`` needs, stored with the item (never credentials).
    kept_headers: tuple[str, ...]

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """Return None when authentic, else the reason for refusing (never raises)."""
        ...

    def split(self, body: bytes) -> Sequence[bytes]:
        """The separately identified items of a verified delivery (a batch), or the body itself; raise ParseError."""
        ...

    def identify(self, body: bytes) -> Identified:
        """Dedupe key and event type of a verified delivery; raise ParseError when the body is unreadable."""
        ...

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """Canonical events of one item; raise ParseError when it cannot be understood, TemporaryFailure to retry.

        ``received`` is what intake recorded (arrival time, kept headers); vendors that send no event time use it.
        """
        ...


class MirrorStore(
    CrmStore, IdentityStore, FollowupStore, OpsStore, SopStore, ReferralStore, TaskStore, AccessStore, Protocol
):
    """Reads and writes of the built-in CRM inside one transaction (the unit of work)."""

    def customer_by_external(self, connector: str, external_id: str) -> CustomerRecord | None:
        """The customer a vendor id points at."""
        ...

    def customers_by_phone(self, e164: str) -> list[str]:
        """Ids of customers holding this phone."""
        ...

    def customers_by_email(self, email: str) -> list[str]:
        """Ids of customers holding this email."""
        ...

    def get_customer(self, customer_id: str) -> CustomerRecord:
        """One customer, locked for update where the database can."""
        ...

    def insert_customer(self, values: Mapping[str, object]) -> str:
        """Create a customer; return its id."""
        ...

    def update_customer(self, customer_id: str, values: Mapping[str, object]) -> None:
        """Change a customer's fields."""
        ...

    def link_external(self, connector: str, kind: str, external_id: str, entity_id: str) -> bool:
        """Record that a vendor id names a mirror row; False when it already named one."""
        ...

    def add_contact_points(
        self,
        customer_id: str,
        phones: Sequence[str],
        emails: Sequence[str],
        seen_at: datetime | None = None,
        confirmed: bool = False,
    ) -> tuple[list[str], bool]:
        """Add phones (E.164) and emails (lower case) not held yet, marking each seen at ``seen_at`` (confirmed now
        when ``confirmed``: the customer or a person said it); return the phones added and whether any was."""
        ...

    def phones_of(self, customer_id: str) -> list[str]:
        """The customer's phones, the primary first (the latest confirmed, else the latest seen)."""
        ...

    def job_by_external(self, connector: str, external_id: str) -> JobRecord | None:
        """The job a vendor id points at, locked for update where the database can."""
        ...

    def insert_job(self, values: Mapping[str, object]) -> str:
        """Create a job; return its id."""
        ...

    def update_job(self, job_id: str, values: Mapping[str, object]) -> None:
        """Change a job's fields."""
        ...

    def get_job(self, job_id: str) -> JobRecord | None:
        """One job by mirror id."""
        ...

    def estimate_by_external(self, connector: str, external_id: str) -> EstimateRecord | None:
        """The estimate a vendor id points at, locked for update where the database can."""
        ...

    def get_estimate(self, estimate_id: str) -> EstimateRecord | None:
        """One estimate by mirror id."""
        ...

    def insert_estimate(self, values: Mapping[str, object]) -> str:
        """Create an estimate; return its id."""
        ...

    def update_estimate(self, estimate_id: str, values: Mapping[str, object]) -> None:
        """Change an estimate's fields."""
        ...

    def latest_open_job(self, customer_id: str) -> JobRecord | None:
        """The customer's most recent job that is neither paid nor cancelled."""
        ...

    def set_consent(
        self, channel: str, address: str, opted_out: bool, reason: str, source: str, changed_at: datetime
    ) -> bool:
        """Record a consent change unless a newer one is recorded; True when applied."""
        ...

    def is_opted_out(self, channel: str, address: str) -> bool:
        """True when the last consent change for this address on this channel was an opt-out."""
        ...

    def message_by_provider_id(self, channel: str, provider_message_id: str) -> MessageRecord | None:
        """The message a provider's id names."""
        ...

    def stage_inputs(self, customer_id: str) -> tuple[list[str], bool]:
        """The customer's job statuses and whether they have an estimate."""
        ...

    def add_activity(self, customer_id: str, at: datetime, kind: str, summary: str, source: str, applied: bool) -> None:
        """Append to the customer's timeline."""
        ...

    def schedule_timer(
        self,
        key: str,
        kind: str,
        due_at: datetime,
        customer_id: str | None,
        payload: Mapping[str, object],
        enrollment_id: str | None = None,
    ) -> bool:
        """Create a timer unless one with this key exists; True when created. ``enrollment_id``: a sequence step's."""
        ...

    def insert_message(self, values: Mapping[str, object]) -> str:
        """Create a message row; return its id."""
        ...

    def get_message(self, message_id: str) -> MessageRecord | None:
        """One message."""
        ...

    def update_message(self, message_id: str, values: Mapping[str, object]) -> None:
        """Change a message's fields."""
        ...

    def enqueue(
        self,
        *,
        idempotency_key: str,
        target: str,
        kind: str,
        ordering_key: str,
        customer_id: str | None,
        message_id: str | None,
        payload: Mapping[str, object],
        intent_key: str | None = None,
    ) -> bool:
        """Queue an outbound delivery unless one with this key (or this intent) exists; True when queued."""
        ...

    def intent_holder(self, intent_key: str) -> IntentHolder | None:
        """The outbox row already holding an intent, or None."""
        ...

    def intents_of(self, customer_id: str, prefix: str) -> list[str]:
        """The intent keys queued for the customer's messages that start with ``prefix``, oldest first."""
        ...
