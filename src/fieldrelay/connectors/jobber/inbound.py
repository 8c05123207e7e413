"""Jobber inbound webhooks: verify and identify on intake, fetch and normalise in the worker.

Vendor-published (verified; https://developer.getjobber.com/docs/using_jobbers_api/setting_up_webhooks):

- ``X-Jobber-Hmac-SHA256`` = Base64 HMAC-SHA256 of the raw body keyed with the app's OAuth client secret
  (``FIELDRELAY_JOBBER_SECRET``); there is no signed timestamp, so there is no replay window to enforce;
- the body is thin: ``{"data": {"webHookEvent": {"topic", "appId", "accountId", "itemId", "occurredAt"}}}``
  (``occuredAt`` for apps created before 2023-12-08); the topics are ``WebHookTopicEnum``;
- a webhook must be answered within one second and may be delivered more than once, so ``identify`` never
  calls the network and the dedupe key is topic + itemId + occurredAt;
- the item is read through the GraphQL API (``connectors.jobber.graphql_url``, ``X-JOBBER-GRAPHQL-VERSION`` =
  ``connectors.jobber.api_version``, bearer token from ``FIELDRELAY_JOBBER_ACCESS_TOKEN``); throttling and
  auth failures become ``TemporaryFailure`` (see api.py).

Known limits: apps created before 2022-04-11 post form-encoded bodies, which are refused as not JSON here; the
access token is read as given (an expired token answers 401 and lands, after retries, in the error queue:
refreshing OAuth tokens is not done here); the topic table follows the 2023 schema snapshot in
../shared/payloads/jobber/, and a topic added since is acknowledged as unused without fetching.

Topics (everything else, ``*_DESTROY`` included, is acknowledged and ignored without fetching):

- CLIENT_CREATE / CLIENT_UPDATE → CustomerCreated / CustomerUpdated
- JOB_CREATE → JobBooked (JOB_UPDATE is not a lifecycle step: completion is read from VISIT_COMPLETE)
- VISIT_UPDATE → JobArrived while a timer runs on the unfinished visit, else ignored
- VISIT_COMPLETE → JobCompleted when it was the job's last scheduled visit (or the job is completed)
- QUOTE_CREATE / QUOTE_UPDATE → EstimateSent (awaiting_response) or EstimateAccepted (approved, converted);
  draft, changes_requested and archived decide nothing; Jobber has no "declined" state, so no EstimateDeclined
- INVOICE_CREATE → JobInvoiced for each job the invoice bills
- PAYMENT_CREATE → PaymentCaptured (the job paid) when the invoice is now paid in full; partial payments and
  payments on no invoice are ignored with the reason
- REQUEST_CREATE → LeadReceived

No Jobber state says "on the way", so Jobber never produces JobDispatched. An item deleted before the worker
fetched it is ignored with the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from fieldrelay.connectors.jobber import normalize, queries
from fieldrelay.connectors.jobber.api import JobberApi
from fieldrelay.connectors.jobber.auth import access_token
from fieldrelay.connectors.jobber.schemas import WebHookPayload
from fieldrelay.connectors.jobber.signature import SIGNATURE_HEADER, signature_matches
from fieldrelay.service.payloads import load_json
from fieldrelay.service.ports import Identified, Parsed, ParseError, Received, WebhookRequest

NAME = normalize.NAME
DEFAULT_GRAPHQL_URL = "https://api.getjobber.com/api/graphql"

TOPICS: dict[str, tuple[queries.ItemQuery, normalize.Builder]] = {
    "CLIENT_CREATE": (queries.CLIENT, normalize.client_create),
    "CLIENT_UPDATE": (queries.CLIENT, normalize.client_update),
    "JOB_CREATE": (queries.JOB, normalize.job_create),
    "VISIT_UPDATE": (queries.VISIT, normalize.visit_update),
    "VISIT_COMPLETE": (queries.VISIT, normalize.visit_complete),
    "QUOTE_CREATE": (queries.QUOTE, normalize.quote_event),
    "QUOTE_UPDATE": (queries.QUOTE, normalize.quote_event),
    "INVOICE_CREATE": (queries.INVOICE, normalize.invoice_create),
    "PAYMENT_CREATE": (queries.PAYMENT, normalize.payment_create),
    "REQUEST_CREATE": (queries.REQUEST, normalize.request_create),
}


class JobberInbound:
    """Jobber webhook receiver; ``parse`` reads the named item through the GraphQL API."""

    name = NAME
    rate_limit_per_minute: int | None = None
    kept_headers: tuple[str, ...] = ()
    parse_calls_vendor = True  # parse fetches the item through the GraphQL API (read by the report, which skips it)

    def __init__(
        self,
        secret: str | None,
        client: httpx.Client,
        graphql_url: str = DEFAULT_GRAPHQL_URL,
        api_version: str = "2025-04-16",
        token: Callable[[], str | None] = access_token,
    ) -> None:
        self._secret = secret
        self._api = JobberApi(client, graphql_url, api_version, token)

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """None when ``X-Jobber-Hmac-SHA256`` matches the raw body, else why the delivery is refused."""
        if not self._secret:
            return "no secret configured"
        signature = request.headers.get(SIGNATURE_HEADER.lower())
        if not signature:
            return "missing signature header"
        if not signature_matches(self._secret, request.body, signature):
            return "bad signature"
        return None

    def split(self, body: bytes) -> tuple[bytes]:
        """One event per delivery."""
        return (body,)

    def identify(self, body: bytes) -> Identified:
        """Topic + itemId + occurredAt, read from the body alone (no network: intake answers within a second)."""
        hook = _load(body).get("data")
        event = hook.get("webHookEvent") if isinstance(hook, dict) else None
        if not isinstance(event, dict):
            raise ParseError("no 'data.webHookEvent' object")
        topic, item, occurred = event.get("topic"), event.get("itemId"), event.get("occurredAt", event.get("occuredAt"))
        if not isinstance(topic, str) or not topic.strip():
            raise ParseError("missing webHookEvent.topic")
        if not isinstance(item, str) or not item:
            raise ParseError("missing webHookEvent.itemId")
        if not isinstance(occurred, str) or not occurred:
            raise ParseError("missing webHookEvent.occurredAt")
        key = f"{topic}:{item}:{occurred}"
        if len(key) > 200 or not key.isprintable():
            key = "h:" + hashlib.sha256(json.dumps([topic, item, occurred]).encode()).hexdigest()[:40]
        return Identified(dedupe_key=key, event_type=_event_type(topic))

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """Fetch the item the webhook names and normalise it; unused topics are ignored without fetching."""
        payload = normalize.validate(WebHookPayload, _load(body))
        hook = payload.data.web_hook_event
        topic = _event_type(hook.topic)
        if hook.occurred_at.tzinfo is None:
            raise ParseError("webHookEvent.occurredAt has no time zone")
        handled = TOPICS.get(hook.topic)
        if handled is None:
            return Parsed(event_type=topic, ignored="topic not used by fieldrelay")
        query, build = handled
        item = self._api.fetch(query, hook.item_id)
        if item is None:
            return Parsed(event_type=topic, ignored=f"{query.root} {hook.item_id} no longer exists in Jobber")
        return build(hook, item)


def _event_type(topic: str) -> str:
    # Stored in a 100-character column; NUL cannot be stored in PostgreSQL text at all.
    return topic.replace("\x00", "")[:100]


def _load(body: bytes) -> dict[str, Any]:
    data = load_json(body)
    if not isinstance(data, dict):
        raise ParseError("body is not a JSON object")
    return data
