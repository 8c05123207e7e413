"""What the service asks of message providers: send a text or an email, and find one already sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Category = Literal["transactional", "marketing"]


@dataclass(frozen=True)
class SmsRequest:
    """One text to send."""

    to: str
    body: str
    idempotency_key: str
    account_id: str


@dataclass(frozen=True)
class EmailRequest:
    """One email to send (plain text; providers may add an HTML part of their own)."""

    to: str
    subject: str
    body: str
    idempotency_key: str
    account_id: str
    category: Category = "transactional"
    # Marketing email carries a one-click unsubscribe link (List-Unsubscribe, RFC 8058); None for transactional.
    unsubscribe_url: str | None = None


@dataclass(frozen=True)
class SendResult:
    """What the provider said about a message."""

    provider_message_id: str
    status: str  # queued | sent | delivered
    at: datetime


class SendFailed(Exception):
    """The provider refused or could not be reached; ``retryable`` says whether trying again can help.

    ``error_code`` is the provider's own code when it gave one (stored on the message as it is). ``opted_out`` says
    the provider refuses because the recipient opted out with it (replied STOP): no retry can get through, and the
    opt-out is recorded under the sender's name with ``reason``, the connector's words for it.
    """

    def __init__(
        self,
        detail: str,
        *,
        retryable: bool = True,
        status_code: int | None = None,
        error_code: str | None = None,
        opted_out: bool = False,
        reason: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.retryable = retryable
        self.status_code = status_code
        self.error_code = error_code
        self.opted_out = opted_out
        self.reason = reason


class SmsSender(Protocol):
    """An SMS provider."""

    name: str

    def send(self, request: SmsRequest) -> SendResult:
        """Send one text; raise SendFailed when it did not go out."""
        ...

    def lookup(self, request: SmsRequest, since: datetime) -> SendResult | None:
        """A text already sent for this request since ``since`` (reconciling after a crash), or None."""
        ...


class EmailSender(Protocol):
    """An email provider."""

    name: str
    # True for a development sink that records mail where no person reads it (devmail): marketing mail there
    # needs no working unsubscribe link. Real providers say False.
    development_sink: bool

    def send(self, request: EmailRequest) -> SendResult:
        """Send one email; raise SendFailed when it did not go out."""
        ...

    def lookup(self, request: EmailRequest, since: datetime) -> SendResult | None:
        """An email already sent for this request since ``since``, or None when the provider cannot tell."""
        ...


class DevSink(Protocol):
    """Where the development providers (devsms, devmail) keep what they "sent", for the demo and tests to read.

    It stands in for a provider's side, so each call is a transaction of its own, outside the caller's: a crash
    between a "send" and our bookkeeping is reconciled by finding the message again, as with a real provider.
    """

    def record_sms(self, request: SmsRequest, provider_message_id: str, at: datetime) -> None:
        """Keep one text as sent at ``at`` under its provider id."""
        ...

    def find_sms(self, request: SmsRequest) -> tuple[str, datetime] | None:
        """Provider id and time of the first text kept under the request's account and idempotency key, or None."""
        ...

    def record_email(self, request: EmailRequest, provider_message_id: str, at: datetime) -> None:
        """Keep one email as sent at ``at`` under its provider id."""
        ...

    def find_email(self, request: EmailRequest) -> tuple[str, datetime] | None:
        """Provider id and time of the first email kept under the request's account and idempotency key, or None."""
        ...
