"""Twilio inbound messaging webhooks: verify with the official SDK, identify by MessageSid, normalise.

Vendor-published (verified):

- signature: ``X-Twilio-Signature`` = base64 HMAC-SHA1(auth token, full URL + sorted POST params), checked by the
  ``twilio`` SDK's ``RequestValidator`` against the public URL Twilio posted to (``settings.public_base_url`` behind
  a proxy); a SharedKey signature (``X-Twilio-Webhooks-Signature-Settings``) uses the algorithm that header names.
  https://www.twilio.com/docs/usage/webhooks/webhooks-security,
  https://www.twilio.com/docs/usage/webhooks/webhook-shared-keys
- no timestamp is signed, so a captured request cannot be refused as stale; the dedupe keys below make a replay
  change nothing;
- incoming message and status callback parameters: https://www.twilio.com/docs/messaging/guides/webhook-request,
  https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks;
- default opt-out / opt-in / help keywords (whole message, any case) and ``OptOutType`` (Advanced Opt-Out):
  https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out; error 21610 = "attempt to send to unsubscribed
  recipient" (https://www.twilio.com/docs/api/errors/21610).

Time: Twilio's form posts carry no time of the event, so ``occurred_at`` is when the post arrived (the inbox row's
``received_at``, handed to ``parse``); only a caller that gives no receipt time gets the injected clock's reading.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import parse_qs, parse_qsl, urlsplit

from pydantic import BaseModel, ValidationError
from twilio.request_validator import (  # type: ignore[import-untyped]  # the twilio package ships no type hints
    RequestValidator,
    get_signature_algorithm,
)

from fieldrelay.connectors.twilio.schemas import IncomingMessage, StatusCallback
from fieldrelay.domain import events as ev
from fieldrelay.service.ports import Identified, Parsed, ParseError, Received, WebhookRequest

NAME = "twilio"
SIGNATURE_HEADER = "x-twilio-signature"
SIGNATURE_SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"

# Twilio's default keywords for long codes, matched on the whole trimmed message in any case.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

# Twilio MessageStatus → canonical status. Twilio's own order is accepted/scheduled → queued → sending → sent →
# delivered | undelivered | failed (→ read on channels with read receipts); "canceled" ends a scheduled message.
STATUS_MAP = {
    "accepted": "queued",  # taken by a Messaging Service, not yet queued
    "scheduled": "queued",  # waiting for its scheduled time
    "queued": "queued",
    "sending": "queued",  # being handed to the carrier: not sent yet
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",  # read receipts (WhatsApp, RCS) imply delivery
    "partially_delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",  # a scheduled message cancelled before it went out: it will not arrive
}
_INCOMING_STATUSES = frozenset({"receiving", "received"})

# Twilio SIDs are two letters and 32 hex digits; allow any short printable token, refuse what cannot be one.
_SID = re.compile(r"[\x21-\x7e]{1,64}")
_ERROR_CODE = re.compile(r"[\x21-\x7e]{1,32}")

UNSUBSCRIBED_ERROR = "21610"
# A few of Twilio's delivery error codes, for a readable timeline (https://www.twilio.com/docs/api/errors).
ERROR_TEXT = {
    UNSUBSCRIBED_ERROR: "the recipient has opted out (replied STOP)",
    "30003": "unreachable destination handset",
    "30004": "message blocked",
    "30005": "unknown destination handset",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "unknown error",
}

M = TypeVar("M", bound=BaseModel)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class _FormParams(dict[str, list[str]]):
    """POST parameters with every value of a repeated name, in the shape RequestValidator reads (``getlist``)."""

    def getlist(self, name: str) -> list[str]:
        """All values of one parameter."""
        return self[name]


class TwilioInbound:
    """Twilio messaging webhook receiver.

    Events are stamped with the time the post arrived; ``now`` stands in only when ``parse`` is given no receipt
    time (see the module docstring).
    """

    name = NAME
    rate_limit_per_minute: int | None = None
    kept_headers: tuple[str, ...] = ()

    def __init__(self, secret: str | None, now: Callable[[], datetime] = _wall_clock) -> None:
        self._secret = secret
        self._now = now

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """None when the SDK accepts X-Twilio-Signature for this URL and body, else why not (``now`` is unused)."""
        if not self._secret:
            return "no secret configured"
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature.strip():
            return "missing X-Twilio-Signature header"
        algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
        try:
            valid = RequestValidator(self._secret).validate(request.url, _signed_params(request), signature, algorithm)
        except Exception:  # verify must never raise; anything the SDK cannot check is a refusal
            return "bad signature"
        return None if valid else "bad signature"

    def split(self, body: bytes) -> tuple[bytes]:
        """Twilio posts one message or one status change per request."""
        return (body,)

    def identify(self, body: bytes) -> Identified:
        """Incoming texts by MessageSid; status callbacks by MessageSid, status and error code."""
        params = form(body)
        sid = params.get("MessageSid", "")
        if not sid:
            raise ParseError("no MessageSid: not a Twilio messaging webhook")
        if not _SID.fullmatch(sid):
            raise ParseError("malformed MessageSid")
        status = params.get("MessageStatus", "").strip().lower()
        if status:
            code = params.get("ErrorCode", "").strip()
            return Identified(_key(f"status:{sid}:{status}:{code}"), f"status.{_status_name(status)}")
        if _is_incoming(params):
            kind = classify(params.get("Body", ""), params.get("OptOutType"))
            return Identified(_key(f"in:{sid}"), f"sms.{kind}")
        return Identified(_key(f"other:{sid}"), "message.other")

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """The canonical events this delivery stands for."""
        params = form(body)
        at = received.at if received is not None else self._now()
        if params.get("MessageStatus", "").strip():
            return self._status(_validate(StatusCallback, params), at)
        if _is_incoming(params):
            return self._incoming(_validate(IncomingMessage, params), at)
        return Parsed("message.other", ignored="neither an incoming message nor a status callback")

    def _incoming(self, msg: IncomingMessage, at: datetime) -> Parsed:
        kind = classify(msg.body, msg.opt_out_type)
        event_type = f"sms.{kind}"
        if not msg.from_:
            raise ParseError(f"incoming message {msg.message_sid} has no 'From'")
        word = msg.body.strip().upper()
        reason = word if word in OPT_OUT_KEYWORDS | OPT_IN_KEYWORDS else f"{msg.opt_out_type} ({msg.body.strip()[:40]})"
        event: ev.FieldEvent
        if kind == "stop":
            event = ev.OptedOut(source=NAME, occurred_at=at, customer=None, address=msg.from_, reason=reason)
        elif kind == "start":
            event = ev.OptedIn(source=NAME, occurred_at=at, customer=None, address=msg.from_, reason=reason)
        elif kind == "help":
            event = ev.HelpRequested(source=NAME, occurred_at=at, customer=None, address=msg.from_)
        else:
            text = msg.body or _media_note(msg.num_media)
            event = ev.ReplyReceived(
                source=NAME,
                occurred_at=at,
                customer=None,
                from_address=msg.from_,
                to_address=msg.to,
                body=text,
                provider_message_id=msg.message_sid,
            )
        return Parsed(event_type, events=(event,))

    def _status(self, cb: StatusCallback, at: datetime) -> Parsed:
        raw = cb.message_status.strip().lower()
        event_type = f"status.{_status_name(raw)}"
        if raw in _INCOMING_STATUSES:
            return Parsed(event_type, ignored=f"status {raw!r} belongs to an incoming message")
        status = STATUS_MAP.get(raw)
        if status is None:
            return Parsed(event_type, ignored=f"Twilio message status {raw[:40]!r} is not known to fieldrelay")
        code = cb.error_code.strip() if cb.error_code else None
        if code is not None and not _ERROR_CODE.fullmatch(code):
            raise ParseError("malformed ErrorCode")
        changed = ev.MessageStatusChanged(
            source=NAME,
            occurred_at=at,
            customer=None,
            provider_message_id=cb.message_sid,
            status=status,
            address=cb.to,
            error_code=code,
            detail=_detail(raw, status, code),
        )
        if code == UNSUBSCRIBED_ERROR and cb.to:
            # Twilio refused the text because the recipient opted out, perhaps before fieldrelay saw their STOP.
            opted_out = ev.OptedOut(
                source=NAME, occurred_at=at, customer=None, address=cb.to, reason=f"Twilio error {code}"
            )
            return Parsed(event_type, events=(opted_out, changed))
        return Parsed(event_type, events=(changed,))


def form(body: bytes) -> dict[str, str]:
    """The POST parameters of a form body (the last value of a repeated name); ParseError if one holds a NUL."""
    pairs = _pairs(body)
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        # Twilio never sends one, and no text column (PostgreSQL's least of all) can hold it.
        raise ParseError("body contains a NUL character")
    return dict(pairs)


def classify(body: str, opt_out_type: str | None) -> str:
    """ "stop", "start", "help" or "received": Twilio's OptOutType when given, else the whole-message keyword."""
    marked = (opt_out_type or "").strip().upper()
    if marked in ("STOP", "START", "HELP"):
        return marked.lower()
    word = body.strip().upper()
    if word in OPT_OUT_KEYWORDS:
        return "stop"
    if word in OPT_IN_KEYWORDS:
        return "start"
    if word in HELP_KEYWORDS:
        return "help"
    return "received"


def _pairs(body: bytes) -> list[tuple[str, str]]:
    # Twilio sends UTF-8; undecodable bytes become U+FFFD, the same in verify and parse, so nothing here raises.
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def _signed_params(request: WebhookRequest) -> _FormParams | str:
    """What RequestValidator signs: the raw body for JSON webhooks (``bodySHA256`` in the URL), else the form."""
    if "bodySHA256" in parse_qs(urlsplit(request.url).query):
        return request.body.decode("utf-8", errors="replace")
    params = _FormParams()
    for name, value in _pairs(request.body):
        params.setdefault(name, []).append(value)
    return params


def _is_incoming(params: dict[str, str]) -> bool:
    return "Body" in params or params.get("SmsStatus", "").strip().lower() == "received"


def _status_name(raw: str) -> str:
    """A bounded event-type suffix: Twilio's status when it is one fieldrelay knows, else "other"."""
    return raw if raw in STATUS_MAP or raw in _INCOMING_STATUSES else "other"


def _key(key: str) -> str:
    """The dedupe key, hashed when odd parameters would make it too long or unprintable for the inbox column."""
    if len(key) <= 200 and key.isascii() and key.isprintable():
        return key
    return "h:" + hashlib.sha256(key.encode()).hexdigest()


def _validate(model: type[M], params: dict[str, str]) -> M:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        raise ParseError("unexpected parameters: " + "; ".join(parts)) from exc


def _detail(raw: str, status: str, code: str | None) -> str | None:
    parts = [f"Twilio status {raw}"] if raw != status else []
    if code:
        parts.append(ERROR_TEXT.get(code, f"Twilio error {code}"))
    return "; ".join(parts) or None


def _media_note(num_media: str | None) -> str:
    count = num_media.strip() if num_media else "0"
    return f"[{count} media attachment(s), no text]" if count not in ("", "0") else ""
