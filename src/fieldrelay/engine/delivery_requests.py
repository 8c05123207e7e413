"""Reading an outbox row into what its provider is asked: the request, its channel, and how to send or find it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fieldrelay.domain.contact import normalize_email
from fieldrelay.service.outreach.ports import Category
from fieldrelay.service.ports import EmailRequest, EmailSender, SendResult, SmsRequest, SmsSender

_CATEGORIES: tuple[Category, ...] = ("transactional", "marketing")


class Undeliverable(Exception):
    """The row cannot be sent as it stands (unknown kind, malformed payload): retrying cannot help."""


@dataclass(frozen=True)
class Outgoing:
    """One outbox row ready for its provider, whatever the channel."""

    channel: str  # "sms" | "email", as consent records name them
    noun: str  # "Text" | "Email", for the customer's timeline
    to: str
    category: Category
    provider: str
    send: Callable[[], SendResult]
    lookup: Callable[[datetime], SendResult | None]
    unsubscribe_url: str | None = None  # emails only: the one-click link in List-Unsubscribe

    @property
    def consent_address(self) -> str:
        """The address as consent is recorded for it (emails in lower case; phones are stored in E.164 already)."""
        return (normalize_email(self.to) or self.to) if self.channel == "email" else self.to


def outgoing(row: Any, sms: SmsSender, email: EmailSender) -> Outgoing:
    """The row's request bound to its provider; Undeliverable when the kind or payload is not one we can send."""
    payload = row.payload if isinstance(row.payload, Mapping) else {}
    if row.kind == "sms":
        text = SmsRequest(
            to=_required(payload, "to"),
            body=_required(payload, "body"),
            idempotency_key=row.idempotency_key,
            account_id=row.account_id,
        )
        return Outgoing(
            channel="sms",
            noun="Text",
            to=text.to,
            category=_category(payload),
            provider=sms.name,
            send=lambda: sms.send(text),
            lookup=lambda since: sms.lookup(text, since=since),
        )
    if row.kind == "email":
        mail = EmailRequest(
            to=_required(payload, "to"),
            subject=_required(payload, "subject"),
            body=_required(payload, "body"),
            idempotency_key=row.idempotency_key,
            account_id=row.account_id,
            category=_category(payload),
            unsubscribe_url=_optional(payload, "unsubscribe_url"),
        )
        return Outgoing(
            channel="email",
            noun="Email",
            to=mail.to,
            category=mail.category,
            provider=email.name,
            send=lambda: email.send(mail),
            lookup=lambda since: email.lookup(mail, since=since),
            unsubscribe_url=mail.unsubscribe_url,
        )
    raise Undeliverable(f"unknown outbox kind {row.kind!r}: only 'sms' and 'email' can be delivered")


def _required(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise Undeliverable(f"outbox payload has no {key!r}")
    return value


def _optional(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) and value else None


def _category(payload: Mapping[str, Any]) -> Category:
    # Rows queued before categories existed carry none; they were all transactional texts.
    value = payload.get("category") or "transactional"
    for category in _CATEGORIES:
        if value == category:
            return category
    # Guessing would risk sending marketing under transactional consent rules.
    raise Undeliverable(f"outbox payload has an unknown category {value!r}")
