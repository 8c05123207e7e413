"""SendGrid outbound: email through the v3 Mail Send API.

Vendor-published (verified), https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send:
``POST /v3/mail/send`` with ``Authorization: Bearer <API key>`` and a JSON body (``personalizations``, ``from``,
``reply_to``, ``subject``, ``content``, ``custom_args``, ``categories``, ``headers``); 202 with an empty body and the
message id in the ``X-Message-Id`` response header means accepted (queued); errors come back as
``{"errors": [{"message", "field", "help"}]}``.

httpx rather than the ``sendgrid`` SDK: the SDK's HTTP layer (``python_http_client.Client``) builds a new
``urllib.request`` opener inside every call, so there is no transport to replace in tests, and it ships no type
hints; the one call needed here is a JSON POST, which the SDK's ``Mail`` helpers would only rename.

Our choices (not vendor contract): the idempotency key rides in ``custom_args`` as ``fieldrelay_key``, so the Event
Webhook carries it back on every event; 408, 429 and 5xx are worth another try, other refusals are not. SendGrid
cannot be asked whether a message went out without the Email Activity API, a paid add-on, so ``lookup`` never
reconciles: an email whose outcome was lost (a crash after the 202, a timeout after SendGrid took the request) may be
sent again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from fieldrelay.rules.messaging import Email, SendGridSending
from fieldrelay.service.clock import Clock
from fieldrelay.service.ports import EmailRequest, SendFailed, SendResult

NAME = "sendgrid"

API_KEY_ENV = "FIELDRELAY_SENDGRID_API_KEY"
_PATH = "/v3/mail/send"
_MAX_DETAIL = 300  # characters of an unparseable error body kept in the failure detail


class SendGridEmailSender:
    """Sends each email with one Mail Send call."""

    name = NAME
    development_sink = False  # it delivers to people: marketing mail needs its unsubscribe link

    def __init__(
        self,
        config: SendGridSending,
        sender: Email,
        api_key: str | None,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not api_key:
            # Refused here rather than at each send: a worker that cannot send email should not start.
            raise ValueError(f"email_provider sendgrid needs {API_KEY_ENV} in the environment (a SendGrid API key)")
        self._sender = sender
        self._api_key = api_key
        self._clock = clock
        self._http = httpx.Client(
            base_url=config.api_base_url.rstrip("/"), transport=transport, timeout=config.request_timeout_seconds
        )

    def send(self, request: EmailRequest) -> SendResult:
        """Ask SendGrid to send the email; raise SendFailed (retryable on 408, 429, 5xx and network trouble)."""
        try:
            response = self._http.post(
                _PATH, json=self._body(request), headers={"Authorization": f"Bearer {self._api_key}"}
            )
        except httpx.TransportError as exc:
            # Connect errors, timeouts, dropped connections. A timeout after SendGrid took the request may mean it
            # was accepted; lookup cannot tell, so the retry may send it twice (see lookup).
            raise SendFailed(f"SendGrid unreachable: {type(exc).__name__}: {exc}", retryable=True) from exc
        if response.status_code == 202:
            # The message was accepted: never fail from here on, or the worker would send it again, not even if the
            # documented X-Message-Id header were missing (events still carry fieldrelay_key back).
            message_id = response.headers.get("X-Message-Id", "")
            return SendResult(provider_message_id=message_id, status="queued", at=self._clock.now())
        status = response.status_code
        raise SendFailed(
            f"SendGrid {status}: {_error_detail(response)}",
            retryable=status in (408, 429) or status >= 500,
            status_code=status,
        )

    def lookup(self, request: EmailRequest, since: datetime) -> SendResult | None:
        """Always None: finding a sent email needs the Email Activity API (a paid add-on), so a lost outcome resends."""
        return None

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _body(self, request: EmailRequest) -> dict[str, Any]:
        sender = self._sender
        from_: dict[str, str] = {"email": sender.from_address}
        if sender.from_name:
            from_["name"] = sender.from_name
        body: dict[str, Any] = {
            "personalizations": [{"to": [{"email": request.to}]}],
            "from": from_,
            "subject": request.subject,
            "content": [{"type": "text/plain", "value": request.body}],
            "custom_args": {"fieldrelay_key": request.idempotency_key},
            "categories": [request.category],
        }
        if sender.reply_to:
            body["reply_to"] = {"email": sender.reply_to}
        if request.category == "marketing" and request.unsubscribe_url:
            # One-click unsubscribe (RFC 8058, https://www.rfc-editor.org/rfc/rfc8058), which Gmail and Yahoo require
            # of bulk senders; custom headers go in the top-level "headers" object of the Mail Send body.
            body["headers"] = {
                "List-Unsubscribe": f"<{request.unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        return body


def _error_detail(response: httpx.Response) -> str:
    """The first error message of SendGrid's error body (with its field), else the start of the raw body."""
    try:
        errors = response.json().get("errors")
        first = errors[0]
        message = str(first["message"])
    except (ValueError, AttributeError, LookupError, TypeError):
        return response.text[:_MAX_DETAIL] or response.reason_phrase
    field = first.get("field")
    return f"{message} (field {field})" if field else message
