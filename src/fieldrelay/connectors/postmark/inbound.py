"""Postmark webhooks: check the Basic credentials, identify the record, normalise it to canonical events.

Vendor-published (verified), https://postmarkapp.com/developer/webhooks/webhooks-overview and the trigger pages
under https://postmarkapp.com/developer/webhooks/ :

- Postmark does not sign webhooks; the webhook URL carries HTTP Basic credentials (``auth.py``). There is no
  timestamp either, so a replayed delivery can only be caught by the inbox's dedupe key;
- one record per request, ``RecordType`` one of Delivery, Bounce, SpamComplaint, Open, Click,
  SubscriptionChange; ``MessageID`` is the id the send API returned, which fieldrelay stores as is;
- bounce ``Type`` names (HardBounce, SoftBounce, Transient, AutoResponder, …) are Postmark's bounce types
  (https://postmarkapp.com/developer/api/bounce-api#bounce-types).

Our choices (not vendor contract): records carry no event id, and Open / Click repeat for one message, so a
record is identified by its type, message, recipient, its own time field (and the link of a click, the bounce id
of a bounce). Bounce types that do not mean "not delivered" (an auto-reply, a subscribe or address-change
request, a relay test, a spam-filter challenge or notification, a virus warning) are acknowledged and ignored;
an "Unsubscribe" bounce (a reply asking to be removed) is an opt-out. A suppression by SubscriptionChange is an
opt-out whatever its reason (a hard bounce or spam complaint included); a reactivation is an opt-in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fieldrelay.connectors.postmark.auth import credentials_problem
from fieldrelay.connectors.postmark.schemas import PmBounce, PmClick, PmDelivery, PmOpen, PmSubscriptionChange
from fieldrelay.domain import events as ev
from fieldrelay.service.payloads import load_json
from fieldrelay.service.ports import Identified, Parsed, ParseError, Received, WebhookRequest

NAME = "postmark"

_MAX_EVENT_TYPE = 100  # inbox.event_type holds 100
_MAX_ERROR_CODE = 32  # messages.error_code holds 32
_MAX_EMAIL = 254  # RFC 5321 path limit: anything longer is not an address
_MAX_REASON = 200  # consents.reason holds 200

# The time field of each record type: part of the dedupe key, and the event's occurred_at.
_TIME_FIELD = {
    "Delivery": "DeliveredAt",
    "Bounce": "BouncedAt",
    "SpamComplaint": "BouncedAt",
    "Open": "ReceivedAt",
    "Click": "ReceivedAt",
    "SubscriptionChange": "ChangedAt",
}

# Bounce types that are not a failed delivery (Postmark's list of bounce types).
_NOT_A_FAILURE = {
    "AutoResponder": "an automatic reply (out of office): the message arrived",
    "Subscribe": "a subscribe request, not a delivery failure",
    "AddressChange": "an address-change notice, not a delivery failure",
    "OpenRelayTest": "an open-relay test, not a delivery failure",
    "ChallengeVerification": "a spam-filter challenge asking to verify the sender",
    "SpamNotification": "the message arrived but was filtered as spam by the recipient's server",
    "VirusNotification": "a virus warning, not a delivery failure",
}

_Model = TypeVar("_Model", bound=BaseModel)


class PostmarkInbound:
    """Postmark webhook receiver."""

    name = NAME
    rate_limit_per_minute: int | None = None
    kept_headers: tuple[str, ...] = ()

    def __init__(self, secret: str | None) -> None:
        self._secret = secret

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """None when the request carries the configured Basic credentials, else why it is refused."""
        try:
            return credentials_problem(self._secret, request.headers.get("authorization"))
        except Exception:  # verify must never raise; a header that breaks the check is simply not the credential
            return "unreadable credentials"

    def split(self, body: bytes) -> tuple[bytes]:
        """Postmark posts one record per request."""
        return (body,)

    def identify(self, body: bytes) -> Identified:
        """Record type, message, recipient and the record's own time (plus link / bounce id) as the dedupe key."""
        data = _object(body)
        record_type = data.get("RecordType")
        if not isinstance(record_type, str) or not record_type:
            raise ParseError("missing 'RecordType'")
        event_type = record_type[:_MAX_EVENT_TYPE]
        message = data.get("MessageID")
        if not isinstance(message, str) or not message:
            canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
            return Identified(dedupe_key="raw:" + _digest(canonical), event_type=event_type)
        parts = [
            record_type,
            message,
            str(data.get("Recipient") or data.get("Email") or ""),
            str(data.get(_TIME_FIELD.get(record_type, ""), "")),
            str(data.get("OriginalLink") or ""),
            str(data.get("ID") or ""),
        ]
        return Identified(dedupe_key="h:" + _digest("\x1f".join(parts)), event_type=event_type)

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """The canonical events of one record."""
        data = _object(body)
        record_type = data.get("RecordType")
        if not isinstance(record_type, str) or not record_type:
            raise ParseError("missing 'RecordType'")
        builder = _BUILDERS.get(record_type)
        if builder is None:
            return Parsed(event_type=record_type[:_MAX_EVENT_TYPE], ignored="record type not used by fieldrelay")
        return builder(data)


def _object(body: bytes) -> dict[str, Any]:
    data = load_json(body)
    if not isinstance(data, dict):
        raise ParseError("body is not a JSON object")
    return data


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _model(kind: type[_Model], data: dict[str, Any]) -> _Model:
    try:
        record = kind.model_validate(data)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        raise ParseError("unexpected payload: " + "; ".join(parts)) from exc
    for name, value in record:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ParseError(f"{name} has no time zone")
            try:
                value.astimezone(UTC)
            except OverflowError as exc:
                raise ParseError(f"{name} is out of range") from exc
    return record


def _address(value: str | None, record_type: str, field: str) -> str:
    address = (value or "").strip()
    if not address or len(address) > _MAX_EMAIL:
        raise ParseError(f"{record_type} without a usable '{field}'")
    return address


def _delivery(data: dict[str, Any]) -> Parsed:
    record = _model(PmDelivery, data)
    changed = ev.MessageStatusChanged(
        source=NAME,
        occurred_at=record.DeliveredAt,
        customer=None,
        channel=ev.EMAIL,
        provider_message_id=record.MessageID,
        status="delivered",
        address=record.Recipient,
        detail=record.Details,
    )
    return Parsed(event_type=record.RecordType, events=(changed,))


def _bounce(data: dict[str, Any]) -> Parsed:
    record = _model(PmBounce, data)
    kind = record.Type or ""
    if kind in _NOT_A_FAILURE:
        return Parsed(event_type=record.RecordType, ignored=f"bounce type {kind}: {_NOT_A_FAILURE[kind]}")
    if kind == "Unsubscribe":
        address = _address(record.Email, record.RecordType, "Email")
        out = ev.OptedOut(
            source=NAME,
            occurred_at=record.BouncedAt,
            customer=None,
            channel=ev.EMAIL,
            address=address,
            reason="unsubscribe request",
        )
        return Parsed(event_type=record.RecordType, events=(out,))
    detail = record.Details or record.Description
    if record.Inactive:
        detail = f"{detail} (Postmark deactivated the address)" if detail else "Postmark deactivated the address"
    changed = ev.MessageStatusChanged(
        source=NAME,
        occurred_at=record.BouncedAt,
        customer=None,
        channel=ev.EMAIL,
        provider_message_id=record.MessageID,
        status="bounced",
        address=record.Email,
        error_code=kind[:_MAX_ERROR_CODE] or None,
        detail=detail,
    )
    return Parsed(event_type=record.RecordType, events=(changed,))


def _spam_complaint(data: dict[str, Any]) -> Parsed:
    record = _model(PmBounce, data)
    out = ev.OptedOut(
        source=NAME,
        occurred_at=record.BouncedAt,
        customer=None,
        channel=ev.EMAIL,
        address=_address(record.Email, record.RecordType, "Email"),
        reason="spam complaint",
    )
    return Parsed(event_type=record.RecordType, events=(out,))


def _open(data: dict[str, Any]) -> Parsed:
    record = _model(PmOpen, data)
    engaged = ev.MessageEngaged(
        source=NAME,
        occurred_at=record.ReceivedAt,
        customer=None,
        channel=ev.EMAIL,
        provider_message_id=record.MessageID,
        action="opened",
        address=record.Recipient,
    )
    return Parsed(event_type=record.RecordType, events=(engaged,))


def _click(data: dict[str, Any]) -> Parsed:
    record = _model(PmClick, data)
    engaged = ev.MessageEngaged(
        source=NAME,
        occurred_at=record.ReceivedAt,
        customer=None,
        channel=ev.EMAIL,
        provider_message_id=record.MessageID,
        action="clicked",
        address=record.Recipient,
        url=record.OriginalLink,
    )
    return Parsed(event_type=record.RecordType, events=(engaged,))


def _subscription_change(data: dict[str, Any]) -> Parsed:
    record = _model(PmSubscriptionChange, data)
    address = _address(record.Recipient, record.RecordType, "Recipient")
    change: ev.OptedOut | ev.OptedIn
    if record.SuppressSending:
        reason = f"suppressed: {record.SuppressionReason}"[:_MAX_REASON] if record.SuppressionReason else "suppressed"
        change = ev.OptedOut(
            source=NAME, occurred_at=record.ChangedAt, customer=None, channel=ev.EMAIL, address=address, reason=reason
        )
    else:
        change = ev.OptedIn(
            source=NAME,
            occurred_at=record.ChangedAt,
            customer=None,
            channel=ev.EMAIL,
            address=address,
            reason="reactivated",
        )
    return Parsed(event_type=record.RecordType, events=(change,))


_BUILDERS: dict[str, Callable[[dict[str, Any]], Parsed]] = {
    "Delivery": _delivery,
    "Bounce": _bounce,
    "SpamComplaint": _spam_complaint,
    "Open": _open,
    "Click": _click,
    "SubscriptionChange": _subscription_change,
}

HANDLED_EVENTS = tuple(_BUILDERS)
