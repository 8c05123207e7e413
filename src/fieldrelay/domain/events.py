"""Canonical field events (past tense): what every connector normalises its vendor payloads into."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime

# What a field event may carry. Beyond these a value is a vendor's mistake or a hostile body, and it would overflow
# a database integer (10^30 cents) or the calendar once shifted to UTC or by a delay (0001-01-01T00:00:00+14:00).
MAX_CENTS = 10**15  # ten trillion dollars
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class OutOfRange(ValueError):
    """A canonical event holds an amount or a time outside what fieldrelay can store and compute with."""


def check_ranges(value: object, name: str = "event") -> None:
    """Raise OutOfRange for any integer beyond MAX_CENTS or time outside EARLIEST..LATEST in ``value``'s fields."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_CENTS:
            raise OutOfRange(f"{name} is out of range (more than {len(str(MAX_CENTS)) - 1} digits)")
    elif isinstance(value, datetime):
        _check_time(value, name)
    elif isinstance(value, tuple):
        for item in value:
            check_ranges(item, name)
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            check_ranges(getattr(value, f.name), f.name)


def _check_time(value: datetime, name: str) -> None:
    try:
        at = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except OverflowError as exc:
        raise OutOfRange(f"{name} {value.isoformat()} is out of range") from exc
    if not EARLIEST <= at < LATEST:
        raise OutOfRange(f"{name} {value.isoformat()} is outside the years {EARLIEST.year} to {LATEST.year}")


@dataclass(frozen=True)
class Address:
    """A postal address as the field tool gave it."""

    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def is_empty(self) -> bool:
        """True when no part of the address is known."""
        return not any((self.street, self.unit, self.city, self.state, self.postal_code))


@dataclass(frozen=True)
class CustomerSnapshot:
    """The customer as a field event describes them; phones and emails as given (normalised later)."""

    external_id: str
    first_name: str | None = None
    last_name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    address: Address | None = None
    lead_source: str | None = None


@dataclass(frozen=True)
class FieldEvent:
    """Common envelope of every canonical event."""

    source: str
    occurred_at: datetime
    customer: CustomerSnapshot | None

    def __post_init__(self) -> None:
        check_ranges(self)


@dataclass(frozen=True)
class CustomerCreated(FieldEvent):
    """A customer record was created in a field tool."""


@dataclass(frozen=True)
class CustomerUpdated(FieldEvent):
    """A customer record was changed in a field tool."""


@dataclass(frozen=True)
class JobSnapshot:
    """What a job event says about the job besides its status."""

    external_id: str
    description: str | None = None
    service_type: str | None = None
    scheduled_start: datetime | None = None
    scheduled_end: datetime | None = None
    technicians: tuple[str, ...] = ()
    total_cents: int | None = None
    balance_cents: int | None = None
    address: Address | None = None
    line_items: tuple[str, ...] = ()  # the names of the invoice or job lines, as the field tool wrote them


@dataclass(frozen=True)
class JobEvent(FieldEvent):
    """Base of events that move a job along its lifecycle."""

    job: JobSnapshot = field(default_factory=lambda: JobSnapshot(external_id=""))


@dataclass(frozen=True)
class JobBooked(JobEvent):
    """A job was created or given an appointment."""


@dataclass(frozen=True)
class JobRescheduled(JobEvent):
    """A job's appointment moved to another window."""


@dataclass(frozen=True)
class JobDispatched(JobEvent):
    """A technician is on the way."""


@dataclass(frozen=True)
class JobArrived(JobEvent):
    """A technician started work on site."""


@dataclass(frozen=True)
class JobCompleted(JobEvent):
    """The work was finished."""


@dataclass(frozen=True)
class JobInvoiced(JobEvent):
    """An invoice was issued for the job."""

    invoice_id: str | None = None
    amount_cents: int | None = None


@dataclass(frozen=True)
class PaymentCaptured(JobEvent):
    """Money for the job was collected."""

    payment_ref: str | None = None
    amount_cents: int | None = None


@dataclass(frozen=True)
class JobCancelled(JobEvent):
    """The job was cancelled, by the customer or the shop."""

    reason: str | None = None


@dataclass(frozen=True)
class EstimateSnapshot:
    """What an estimate event says about the estimate."""

    external_id: str
    number: str | None = None
    total_cents: int | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class EstimateEvent(FieldEvent):
    """Base of events about an estimate."""

    estimate: EstimateSnapshot = field(default_factory=lambda: EstimateSnapshot(external_id=""))


@dataclass(frozen=True)
class EstimateSent(EstimateEvent):
    """An estimate was sent to the customer."""


@dataclass(frozen=True)
class EstimateAccepted(EstimateEvent):
    """The customer approved an estimate option."""


@dataclass(frozen=True)
class EstimateDeclined(EstimateEvent):
    """The customer declined the estimate."""


CanonicalEvent = FieldEvent


# --- leads and payments ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadReceived(FieldEvent):
    """A new enquiry: the shop's web form, a marketplace lead, or a lead created in a field tool."""

    lead_ref: str = ""  # the vendor's id for the lead or form submission
    service: str | None = None
    notes: str | None = None
    channel: str | None = None  # where it came from: "web_form", "angi", "thumbtack", "jobber" …
    referral_code: str | None = None


@dataclass(frozen=True)
class PaymentReceived(FieldEvent):
    """Money came in through the payment processor; matched to a job by reference, else by the payer's contact."""

    payment_ref: str = ""
    amount_cents: int | None = None
    currency: str | None = None
    job_ref: str | None = None  # the field tool's job id the shop attached to the payment, when it did
    job_source: str | None = None  # the connector that job id belongs to ("housecallpro", "jobber" …)


@dataclass(frozen=True)
class PaymentRefunded(FieldEvent):
    """Money for a payment was given back, in part or in full."""

    payment_ref: str = ""
    amount_cents: int | None = None
    currency: str | None = None
    job_ref: str | None = None
    job_source: str | None = None


# --- messages: replies, consent, delivery and engagement -------------------------------------------

# Channels a message travels on.
SMS = "sms"
EMAIL = "email"

# What a provider can report about a message we sent, in the order a message normally moves through them.
MESSAGE_STATUSES = ("queued", "sent", "delivered", "undelivered", "failed", "bounced", "dropped")

# What a recipient can do with a message that arrived.
ENGAGEMENTS = ("opened", "clicked")


@dataclass(frozen=True)
class ReplyReceived(FieldEvent):
    """A customer wrote back."""

    channel: str = SMS
    from_address: str = ""  # phone as given by the provider (normalised by the handler) or email
    to_address: str | None = None  # the shop's number or address it was sent to
    body: str = ""
    provider_message_id: str = ""


@dataclass(frozen=True)
class OptedOut(FieldEvent):
    """A person asked to receive nothing more on a channel (STOP, unsubscribe, spam complaint, carrier block)."""

    channel: str = SMS
    address: str = ""
    reason: str = ""  # the keyword or provider reason, kept for the timeline


@dataclass(frozen=True)
class OptedIn(FieldEvent):
    """A person who had opted out asked to receive messages again (START, UNSTOP, resubscribe)."""

    channel: str = SMS
    address: str = ""
    reason: str = ""


@dataclass(frozen=True)
class HelpRequested(FieldEvent):
    """A person texted HELP; the provider answers with the shop's help text, the office sees it."""

    channel: str = SMS
    address: str = ""


@dataclass(frozen=True)
class MessageStatusChanged(FieldEvent):
    """A provider reported where a message we sent stands; ``status`` is one of MESSAGE_STATUSES."""

    channel: str = SMS
    provider_message_id: str = ""
    status: str = "queued"
    address: str | None = None
    error_code: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class MessageEngaged(FieldEvent):
    """A recipient opened a message or clicked a link in it; ``action`` is one of ENGAGEMENTS."""

    channel: str = EMAIL
    provider_message_id: str = ""
    action: str = "opened"
    address: str | None = None
    url: str | None = None
