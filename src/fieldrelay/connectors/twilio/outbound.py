"""Twilio outbound texts through the official SDK's Messages API, with reconciliation by listing after a crash.

Vendor-published (verified): create a Message with ``To``, ``Body`` and either ``From`` or ``MessagingServiceSid``,
optionally ``StatusCallback``; the answer is the Message resource (``sid``, ``status`` accepted/queued/…,
``date_created`` RFC 2822) — https://www.twilio.com/docs/messaging/api/message-resource. Errors come back as JSON
``{"code", "message", "more_info", "status"}`` (https://www.twilio.com/docs/usage/twilios-response), which the
SDK turns into ``TwilioRestException``; error codes: https://www.twilio.com/docs/api/errors.

Credentials come from the environment: the account SID in ``FIELDRELAY_TWILIO_ACCOUNT_SID``, the auth token in
``FIELDRELAY_TWILIO_SECRET`` (the token that also signs Twilio's webhooks).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from twilio.base.exceptions import (  # type: ignore[import-untyped]  # the twilio package ships no type hints
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)

from fieldrelay.connectors.twilio.inbound import NAME, STATUS_MAP, UNSUBSCRIBED_ERROR
from fieldrelay.rules.config import Settings
from fieldrelay.rules.messaging import TwilioSending
from fieldrelay.rules.secrets import connector_secret, twilio_account_sid
from fieldrelay.service.clock import Clock
from fieldrelay.service.outreach.ports import DevSink
from fieldrelay.service.ports import SendFailed, SendResult, SmsRequest

ACCOUNT_SID_ENV = "FIELDRELAY_TWILIO_ACCOUNT_SID"
AUTH_TOKEN_ENV = f"FIELDRELAY_{NAME.upper()}_SECRET"
# How many of the recipient's most recent messages a lookup reads (one page of Twilio's list).
LOOKUP_LIMIT = 50
# Twilio stamps ``date_created`` with its clock, our outbox row has ours: allow this much disagreement.
CLOCK_SKEW = timedelta(minutes=2)

T = TypeVar("T")


class TwilioSmsSender:
    """Sends texts with ``client.messages.create``; finds one already sent by listing the recipient's messages."""

    name = NAME

    def __init__(
        self,
        settings: TwilioSending,
        account_sid: str | None,
        auth_token: str | None,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
        status_callback_url: str | None = None,
    ) -> None:
        missing = [env for env, value in ((ACCOUNT_SID_ENV, account_sid), (AUTH_TOKEN_ENV, auth_token)) if not value]
        if missing:
            raise ValueError(
                f"sms_provider twilio needs {' and '.join(missing)} in the environment "
                f"({ACCOUNT_SID_ENV}: the account SID, AC…; {AUTH_TOKEN_ENV}: the auth token)"
            )
        if bool(settings.from_number) == bool(settings.messaging_service_sid):
            raise ValueError(
                "messaging.twilio needs exactly one of from_number and messaging_service_sid "
                "(who the texts come from: a Twilio number, or a Messaging Service that picks one)"
            )
        self._sender: dict[str, str] = (
            {"from_": settings.from_number}
            if settings.from_number
            else {"messaging_service_sid": str(settings.messaging_service_sid)}
        )
        self._clock = clock
        # Where Twilio reports delivery (StatusCallback); None: it reports nothing and receipts are not tracked.
        self.status_callback_url = status_callback_url
        # Imported here, not with the module: the REST client holds about 20 MB that a shop sending through another
        # provider never needs (the registry imports every sender).
        from twilio.rest import Client  # type: ignore[import-untyped]

        from fieldrelay.connectors.twilio.http import HttpxTwilioClient

        self._http = HttpxTwilioClient(settings.api_base_url, settings.request_timeout_seconds, transport)
        self._client = Client(account_sid, auth_token, http_client=self._http)

    def send(self, request: SmsRequest) -> SendResult:
        """Create the Message at Twilio; raise SendFailed (retryable on 429, 5xx and network errors) otherwise."""
        params: dict[str, Any] = {"to": request.to, "body": request.body, **self._sender}
        if self.status_callback_url:
            params["status_callback"] = self.status_callback_url
        message = self._call("send the text", lambda: self._client.messages.create(**params))
        return SendResult(provider_message_id=str(message.sid), status=_canonical(message.status), at=self._clock.now())

    def lookup(self, request: SmsRequest, since: datetime) -> SendResult | None:
        """The text Twilio already holds for this request (same recipient and body, created since ``since``), or None.

        Twilio's Messages API takes no idempotency key, so a send whose answer we never got (a crash, a timeout)
        can only be found by looking: list the recipient's most recent messages
        (https://www.twilio.com/docs/messaging/api/message-resource, "Read multiple Message resources", filtered
        by ``To``, most recent first) and take one with the same body created no earlier than the outbox row, less
        ``CLOCK_SKEW`` for the two clocks. Not filtered by ``DateSent``: a message still queued has no date sent.
        Limits: only the latest ``LOOKUP_LIMIT`` messages to the number are read; the body is compared exactly, so
        a body Twilio stored rewritten would not match; two rows with the same body to the same number in that
        window are indistinguishable, so the later one counts as sent (never as a duplicate).
        """
        floor = since - CLOCK_SKEW
        found = self._call("look up sent texts", lambda: self._client.messages.list(to=request.to, limit=LOOKUP_LIMIT))
        for message in found:
            created = message.date_created
            if (
                message.body == request.body
                and isinstance(created, datetime)
                and created >= floor
                and not str(message.direction or "").startswith("inbound")
            ):
                return SendResult(provider_message_id=str(message.sid), status=_canonical(message.status), at=created)
        return None

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _call(self, action: str, call: Callable[[], T]) -> T:
        """Run one SDK call, turning every way it can fail into SendFailed."""
        try:
            return call()
        except TwilioRestException as exc:
            raise _refused(action, int(exc.status), exc.code, str(exc.msg)) from exc
        except TwilioServiceException as exc:  # RFC 9457 errors of Twilio's newer APIs
            raise _refused(action, int(exc.status), exc.code, f"{exc.title}: {exc.detail or ''}") from exc
        except TwilioException as exc:
            # A list page that is not 200 raises the bare TwilioException("Unable to fetch page", response).
            response = exc.args[1] if len(exc.args) > 1 else None
            status = getattr(response, "status_code", None)
            if isinstance(status, int):
                raise _refused(action, status, None, str(exc.args[0])) from exc
            raise SendFailed(f"Twilio failed to {action}: {exc}", retryable=True) from exc
        except httpx.HTTPError as exc:
            # Unreachable, or no answer in time: the text may or may not exist at Twilio, so retry (the engine
            # looks it up before sending again).
            raise SendFailed(f"Twilio unreachable trying to {action}: {type(exc).__name__}: {exc}") from exc
        except ValueError as exc:  # a 2xx whose body is not the JSON the SDK expects (a proxy's page, say)
            raise SendFailed(f"Twilio's answer when trying to {action} was unreadable: {exc}") from exc


def _refused(action: str, status: int, code: Any, message: str) -> SendFailed:
    """SendFailed for an HTTP error answer: only throttling (429) and Twilio's own failures (5xx) are retried."""
    # Without an error body the SDK puts the HTTP status in ``code``; Twilio's own codes have five digits.
    error_code = str(code) if code is not None and code != status else None
    label = f"HTTP {status}" + (f" error {error_code}" if error_code else "")
    # 21610: the number replied STOP to this sender; the engine records the opt-out and never retries.
    opted_out = error_code == UNSUBSCRIBED_ERROR
    return SendFailed(
        f"Twilio refused to {action} ({label}): {message}",
        retryable=status == 429 or status >= 500,
        status_code=status,
        error_code=error_code,
        opted_out=opted_out,
        reason=f"Twilio error {error_code}" if opted_out else None,
    )


def _canonical(status: Any) -> str:
    """Twilio's message status in our vocabulary (accepted and sending are still queued)."""
    return STATUS_MAP.get(str(status), "queued")


def status_callback_url(public_base_url: str | None) -> str | None:
    """Where Twilio should report delivery: our webhook under the public base URL, or None when none is set."""
    if not public_base_url:
        return None
    return f"{public_base_url.rstrip('/')}/webhooks/{NAME}"


def twilio_sender(_sink: DevSink, clock: Clock, settings: Settings) -> TwilioSmsSender:
    """The registry's Twilio sender: settings from ``messaging.twilio``, credentials from the environment, status
    callbacks to our webhook under ``public_base_url``."""
    return TwilioSmsSender(
        settings.messaging.twilio,
        twilio_account_sid(),
        connector_secret(NAME),
        clock,
        status_callback_url=status_callback_url(settings.public_base_url),
    )
