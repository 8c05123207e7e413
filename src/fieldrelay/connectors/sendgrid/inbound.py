"""SendGrid Event Webhook: verify the signed batch, split it into events, normalise each to canonical events.

Vendor-published (verified), https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event and
https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features:

- signature: ECDSA over timestamp + raw body with the account's verification key (checked by the official
  ``sendgrid`` SDK, see ``signature.py``); deliveries whose timestamp is further than ``max_timestamp_age_seconds``
  from now are refused as replays (the age limit is ours, SendGrid only supplies the timestamp);
- body: a JSON array of events, each with ``event``, ``email``, Unix ``timestamp``, ``sg_event_id`` (unique per
  event, the dedupe key) and ``sg_message_id``;
- ``sg_message_id`` is the ``X-Message-Id`` of the send response followed by "." and a per-recipient suffix;
  fieldrelay stores the ``X-Message-Id``, so the id is cut at the first "." before matching.

Our choices (not vendor contract): ``processed`` means SendGrid accepted the message, recorded as "sent";
``deferred`` is acknowledged and ignored (SendGrid keeps retrying and reports delivered / bounce / dropped
later); an open SendGrid marks ``sg_machine_open`` (Apple Mail Privacy Protection prefetch) is ignored, since no
person opened anything; group unsubscribes stop all email, because consent is kept per channel.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from fieldrelay.connectors.sendgrid.schemas import SgEvent
from fieldrelay.connectors.sendgrid.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, load_verifier, signature_valid
from fieldrelay.domain import events as ev
from fieldrelay.service.payloads import load_json
from fieldrelay.service.ports import Identified, Parsed, ParseError, Received, WebhookRequest

NAME = "sendgrid"

_MAX_KEY_ID = 180  # inbox.dedupe_key holds 200; longer vendor ids are hashed
_MAX_EVENT_TYPE = 100  # inbox.event_type holds 100
_MAX_ERROR_CODE = 32  # messages.error_code holds 32
_MAX_EMAIL = 254  # RFC 5321 path limit: anything longer is not an address


class SendGridInbound:
    """SendGrid Event Webhook receiver."""

    name = NAME
    rate_limit_per_minute: int | None = None
    kept_headers: tuple[str, ...] = ()

    def __init__(self, verification_key: str | None, max_timestamp_age_seconds: int = 300) -> None:
        self._configured = bool(verification_key and verification_key.strip())
        self._verifier = load_verifier(verification_key)
        self._max_age = max_timestamp_age_seconds

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """None when SendGrid signed this body recently, else why the delivery is refused."""
        if not self._configured:
            return "no verification key configured"
        if self._verifier is None:
            return "the configured verification key cannot be read"
        signature = request.headers.get(SIGNATURE_HEADER.lower())
        raw_timestamp = request.headers.get(TIMESTAMP_HEADER.lower())
        if not signature or not raw_timestamp:
            return "missing signature headers"
        timestamp = raw_timestamp.strip()
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return "unreadable timestamp"
        if abs(now.timestamp() - int(timestamp)) > self._max_age:
            return "timestamp outside the allowed window"
        if not signature_valid(self._verifier, timestamp, request.body, signature):
            return "bad signature"
        return None

    def split(self, body: bytes) -> tuple[bytes, ...]:
        """One JSON item per event of the batch, each stored and deduplicated on its own."""
        data = _load(body)
        if not isinstance(data, list):
            raise ParseError("body is not a JSON array of events")
        if not data:
            raise ParseError("empty event batch")
        try:
            # ASCII escapes keep any string JSON allows (lone surrogates too) encodable as bytes.
            return tuple(json.dumps(item, separators=(",", ":")).encode("ascii") for item in data)
        except (RecursionError, ValueError) as exc:
            raise ParseError(f"event batch cannot be split: {exc}") from exc

    def identify(self, body: bytes) -> Identified:
        """``sg_event_id`` when present, else a hash of the item; the event name as its type."""
        data = _object(body)
        event = data.get("event")
        if not isinstance(event, str) or not event:
            raise ParseError("missing 'event' name")
        event_type = event[:_MAX_EVENT_TYPE]
        event_id = data.get("sg_event_id")
        if isinstance(event_id, str) and event_id:
            key = f"id:{event_id}" if len(event_id) <= _MAX_KEY_ID else "idh:" + _digest(event_id)
            return Identified(dedupe_key=key, event_type=event_type)
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return Identified(dedupe_key="h:" + _digest(canonical), event_type=event_type)

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """The canonical events one SendGrid event stands for."""
        data = _object(body)
        try:
            event = SgEvent.model_validate(data)
        except ValidationError as exc:
            raise ParseError(_describe(exc)) from exc
        builder = _BUILDERS.get(event.event)
        if builder is None:
            return Parsed(event_type=event.event[:_MAX_EVENT_TYPE], ignored="event type not used by fieldrelay")
        return builder(event, _occurred_at(event.timestamp))


def message_id(sg_message_id: str | None) -> str:
    """The ``X-Message-Id`` fieldrelay stored at send time: ``sg_message_id`` up to its first "."."""
    prefix = (sg_message_id or "").split(".", 1)[0].strip()
    if not prefix:
        raise ParseError("event without an sg_message_id")
    return prefix


def _load(body: bytes) -> Any:
    return load_json(body)


def _object(body: bytes) -> dict[str, Any]:
    data = _load(body)
    if not isinstance(data, dict):
        raise ParseError("event is not a JSON object")
    return data


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _describe(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
    return "unexpected event: " + "; ".join(parts)


def _occurred_at(timestamp: int) -> datetime:
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ParseError(f"timestamp {timestamp} is not a usable Unix time") from exc


def _address(event: SgEvent) -> str:
    email = (event.email or "").strip()
    if not email or len(email) > _MAX_EMAIL:
        raise ParseError(f"{event.event} event without a usable 'email'")
    return email


def _status(status: str) -> Callable[[SgEvent, datetime], Parsed]:
    def build(event: SgEvent, at: datetime) -> Parsed:
        detail = event.reason
        if event.event == "bounce" and event.type == "blocked":
            detail = f"blocked: {event.reason}" if event.reason else "blocked"
        error_code = event.status[:_MAX_ERROR_CODE] if event.status and status in ("bounced", "dropped") else None
        changed = ev.MessageStatusChanged(
            source=NAME,
            occurred_at=at,
            customer=None,
            channel=ev.EMAIL,
            provider_message_id=message_id(event.sg_message_id),
            status=status,
            address=event.email,
            error_code=error_code,
            detail=detail,
        )
        return Parsed(event_type=event.event, events=(changed,))

    return build


def _engaged(action: str) -> Callable[[SgEvent, datetime], Parsed]:
    def build(event: SgEvent, at: datetime) -> Parsed:
        if action == "opened" and event.sg_machine_open:
            return Parsed(event_type=event.event, ignored="machine open (Apple Mail Privacy Protection), not a person")
        engaged = ev.MessageEngaged(
            source=NAME,
            occurred_at=at,
            customer=None,
            channel=ev.EMAIL,
            provider_message_id=message_id(event.sg_message_id),
            action=action,
            address=event.email,
            url=event.url if action == "clicked" else None,
        )
        return Parsed(event_type=event.event, events=(engaged,))

    return build


def _consent(kind: type[ev.OptedOut] | type[ev.OptedIn], reason: str) -> Callable[[SgEvent, datetime], Parsed]:
    def build(event: SgEvent, at: datetime) -> Parsed:
        why = f"{reason} (group {event.asm_group_id})" if event.asm_group_id is not None else reason
        change = kind(source=NAME, occurred_at=at, customer=None, channel=ev.EMAIL, address=_address(event), reason=why)
        return Parsed(event_type=event.event, events=(change,))

    return build


def _deferred(event: SgEvent, at: datetime) -> Parsed:
    return Parsed(event_type=event.event, ignored="deferred: SendGrid keeps retrying; a final status follows")


_BUILDERS: dict[str, Callable[[SgEvent, datetime], Parsed]] = {
    "processed": _status("sent"),
    "deferred": _deferred,
    "delivered": _status("delivered"),
    "bounce": _status("bounced"),
    "dropped": _status("dropped"),
    "open": _engaged("opened"),
    "click": _engaged("clicked"),
    "spamreport": _consent(ev.OptedOut, "spam report"),
    "unsubscribe": _consent(ev.OptedOut, "unsubscribe"),
    "group_unsubscribe": _consent(ev.OptedOut, "group unsubscribe"),
    "group_resubscribe": _consent(ev.OptedIn, "group resubscribe"),
}

HANDLED_EVENTS = tuple(_BUILDERS)
