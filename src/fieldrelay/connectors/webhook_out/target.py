"""The ``webhook`` CRM target: each mapped change as one signed JSON POST to the URL in ``crm.webhook.url``.

For tools fieldrelay has no connector for (a homegrown CRM, Zapier, Make, n8n): the body is ``to_payload(change)``,
the customer as they stand when the request is made (not when the change was queued), and the request is signed with
``FIELDRELAY_WEBHOOK_OUT_SECRET`` (scheme in ``signing.py`` and docs/crm.md).

``sequence`` (in the body, and the ``FieldRelay-Sequence`` header) grows with every state of the customer: a receiver
keeps the highest it has applied per ``contact.fieldrelay_id`` and drops a request with a lower one, so a retried
or delayed request can never roll its record back. An equal one carries the same state or a newer one: apply it.

Our choices (this is our contract, not a vendor's): ``FieldRelay-Webhook-Id`` is the change's idempotency key, the
same on every retry, so the receiver can drop repeats of an at-least-once delivery; any 2xx means received; 408, 429,
5xx and network trouble mean the receiver is unwell (retry, and count towards the circuit breaker); 410 Gone means
the receiver asks us to stop; any other answer refuses this one change and is not retried.
"""

from __future__ import annotations

import json

import httpx

from fieldrelay.connectors.webhook_out.signing import sign
from fieldrelay.rules.crm import WebhookOutSettings
from fieldrelay.service.clock import Clock
from fieldrelay.service.crm.targets import CrmChange, CrmWriteFailed, CrmWriteResult, to_payload

NAME = "webhook"
SECRET_ENV = "FIELDRELAY_WEBHOOK_OUT_SECRET"
USER_AGENT = "fieldrelay-webhook/1"

ID_HEADER = "FieldRelay-Webhook-Id"
TIMESTAMP_HEADER = "FieldRelay-Webhook-Timestamp"
SIGNATURE_HEADER = "FieldRelay-Signature"
SEQUENCE_HEADER = "FieldRelay-Sequence"

_MAX_DETAIL = 300  # characters of a refusal's body kept in the failure detail
# A receiver asking for more than an hour is more likely misconfigured than busy; the retry policy takes over after.
_MAX_RETRY_AFTER_SECONDS = 3600.0


class SignedWebhookTarget:
    """Posts each change, signed, to one URL."""

    name = NAME

    def __init__(
        self,
        settings: WebhookOutSettings,
        secret: str | None,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # Refused here rather than at each write: a worker that cannot sign or has nowhere to post should not start.
        if not settings.url:
            raise ValueError("crm target webhook needs crm.webhook.url in fieldrelay.yaml")
        if not secret:
            raise ValueError(f"crm target webhook needs {SECRET_ENV} in the environment (the signing secret)")
        self._url = settings.url
        self._host = httpx.URL(settings.url).host or settings.url
        self._secret = secret
        self._clock = clock
        # No redirects: a signed POST should not be re-sent somewhere the shop never configured.
        self._http = httpx.Client(transport=transport, timeout=settings.request_timeout_seconds, follow_redirects=False)

    def write(self, change: CrmChange) -> CrmWriteResult:
        """POST the change; raise CrmWriteFailed (retryable, target down) on 408, 429, 5xx and network trouble."""
        # Compact and key-sorted, so the same change always makes the same bytes (and the same signature per second).
        body = json.dumps(to_payload(change), separators=(",", ":"), sort_keys=True).encode()
        # Taken at each try, not when the change was queued: a retry hours later must still pass the receiver's
        # freshness window. The id stays the same across tries, which is what the receiver dedupes on.
        timestamp = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            ID_HEADER: change.key,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(self._secret, change.key, timestamp, body),
            SEQUENCE_HEADER: str(change.sequence),
        }
        try:
            response = self._http.post(self._url, content=body, headers=headers)
        except httpx.TransportError as exc:
            # Connect errors, timeouts, dropped connections: the receiver may have got it; the id lets it dedupe.
            raise CrmWriteFailed(
                f"webhook {self._host} unreachable: {type(exc).__name__}: {exc}", retryable=True, target_down=True
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return CrmWriteResult(remote_id=change.key, detail=f"{status} from {self._host}")
        if status in (408, 429) or status >= 500:
            raise CrmWriteFailed(
                f"webhook {self._host} answered {status}: {_excerpt(response)}",
                retryable=True,
                status_code=status,
                retry_after_seconds=_retry_after(response),
                target_down=True,
            )
        if status == 410:
            raise CrmWriteFailed(
                f"webhook {self._host} answered 410 Gone: the receiver no longer accepts these changes; "
                "update crm.webhook.url or remove webhook from crm.targets",
                retryable=False,
                status_code=status,
            )
        if 300 <= status < 400:
            location = response.headers.get("Location", "no Location header")
            raise CrmWriteFailed(
                f"webhook {self._host} answered {status} (redirect to {location}); point crm.webhook.url there",
                retryable=False,
                status_code=status,
            )
        raise CrmWriteFailed(
            f"webhook {self._host} refused the change with {status}: {_excerpt(response)}",
            retryable=False,
            status_code=status,
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()


def _excerpt(response: httpx.Response) -> str:
    """The start of the response body (what the receiver said was wrong), else the status's reason phrase."""
    return response.text[:_MAX_DETAIL].strip() or response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    """The pause a ``Retry-After: <seconds>`` header asks for; None when absent or an HTTP date (not honoured)."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative: not a pause anyone meant
        return None
    return min(seconds, _MAX_RETRY_AFTER_SECONDS)
