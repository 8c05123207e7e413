"""The ``webhook`` CRM target: signed POSTs to a stand-in receiver injected as ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from fieldrelay.connectors.webhook_out.signing import verify
from fieldrelay.connectors.webhook_out.target import SECRET_ENV, SignedWebhookTarget
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.crm import WebhookOutSettings
from fieldrelay.service.crm.targets import (
    CrmChange,
    CrmContact,
    CrmDeal,
    CrmNote,
    CrmTarget,
    CrmWriteFailed,
    to_payload,
)

SECRET = "whsec-test-0f1e2d3c4b5a"
URL = "https://hooks.example.com/fieldrelay/inbound"
NOW = datetime(2026, 11, 2, 15, 0, 7, tzinfo=UTC)
PAID_AT = datetime(2026, 11, 2, 14, 58, tzinfo=UTC)
KEY = f"crm:webhook:cus_01J9Z:job.paid:job_42:{PAID_AT.isoformat()}"

CHANGE = CrmChange(
    key=KEY,
    account_id="acme-hvac",
    event="job.paid",
    occurred_at=PAID_AT,
    contact=CrmContact(
        fieldrelay_id="cus_01J9Z",
        first_name="Dana",
        last_name="Okafor",
        email="dana.okafor@example.com",
        phone="+15125550143",
        street="1200 Barton Springs Rd",
        city="Austin",
        state="TX",
        postal_code="78704",
    ),
    fields={"account_status": "active", "balance_cents": 0, "last_paid_at": PAID_AT.isoformat()},
    changed=("account_status", "balance_cents", "last_paid_at"),
    deal=CrmDeal(fieldrelay_id="deal_7", stage="won", stage_name="Won", is_open=False, value_cents=48900),
    note=CrmNote(at=PAID_AT, summary="Paid invoice 1042 ($489.00)"),
    sequence=4211,
)

Handler = Callable[[httpx.Request], httpx.Response]


def make_target(handler: Handler, clock: SimulatedClock | None = None) -> SignedWebhookTarget:
    """The target posting to URL with SECRET, answered by ``handler``."""
    return SignedWebhookTarget(
        WebhookOutSettings(url=URL),
        SECRET,
        clock or SimulatedClock(NOW),
        transport=httpx.MockTransport(handler),
    )


def recording(response: httpx.Response, seen: list[httpx.Request]) -> Handler:
    """A handler that keeps every request it gets (with its body read) and answers ``response``."""

    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return response

    return handle


def failure_of(response: httpx.Response) -> CrmWriteFailed:
    """The CrmWriteFailed a write raises when the receiver answers ``response``."""
    target = make_target(lambda _request: response)
    with pytest.raises(CrmWriteFailed) as caught:
        target.write(CHANGE)
    return caught.value


def test_is_a_crm_target_named_webhook() -> None:
    target: CrmTarget = make_target(lambda _request: httpx.Response(204))
    assert target.name == "webhook"
    assert SECRET_ENV == "FIELDRELAY_WEBHOOK_OUT_SECRET"


def test_posts_the_change_with_headers_and_a_signature_verify_accepts() -> None:
    seen: list[httpx.Request] = []
    result = make_target(recording(httpx.Response(200, json={"ok": True}), seen)).write(CHANGE)

    assert len(seen) == 1
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "fieldrelay-webhook/1"
    assert request.headers["FieldRelay-Webhook-Id"] == KEY
    assert request.headers["FieldRelay-Webhook-Timestamp"] == str(int(NOW.timestamp()))
    assert request.headers["FieldRelay-Signature"].startswith("v1=")
    assert verify(
        SECRET,
        request.headers["FieldRelay-Webhook-Id"],
        request.headers["FieldRelay-Webhook-Timestamp"],
        request.headers["FieldRelay-Signature"],
        request.content,
        now=NOW + timedelta(seconds=2),  # the receiver's clock, a little later
    )
    signature = request.headers["FieldRelay-Signature"]
    assert not verify("another-secret", KEY, str(int(NOW.timestamp())), signature, request.content, now=NOW)

    assert result.remote_id == KEY
    assert result.detail == "200 from hooks.example.com"


def test_body_is_compact_sorted_json_of_the_change_with_its_sequence() -> None:
    seen: list[httpx.Request] = []
    make_target(recording(httpx.Response(204), seen)).write(CHANGE)
    body = seen[0].content

    payload = json.loads(body)
    assert payload == to_payload(CHANGE)
    assert payload["sequence"] == 4211 and seen[0].headers["FieldRelay-Sequence"] == "4211"
    assert payload["remove"] is False and payload["contact"]["merged_into"] is None
    assert body == json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    assert payload["contact"]["email"] == "dana.okafor@example.com"
    assert payload["deal"] == {
        "fieldrelay_id": "deal_7",
        "stage": "won",
        "stage_name": "Won",
        "is_open": False,
        "value_cents": 48900,
    }


def test_a_retry_keeps_the_id_but_is_signed_with_the_new_time() -> None:
    # The receiver dedupes on the id; the fresh timestamp keeps a late retry inside its freshness window.
    seen: list[httpx.Request] = []
    clock = SimulatedClock(NOW)
    target = make_target(recording(httpx.Response(202), seen), clock)
    target.write(CHANGE)
    clock.advance(3600)
    target.write(CHANGE)

    first, second = seen
    assert first.headers["FieldRelay-Webhook-Id"] == second.headers["FieldRelay-Webhook-Id"] == KEY
    assert first.content == second.content
    elapsed = int(second.headers["FieldRelay-Webhook-Timestamp"]) - int(first.headers["FieldRelay-Webhook-Timestamp"])
    assert elapsed == 3600
    assert first.headers["FieldRelay-Signature"] != second.headers["FieldRelay-Signature"]
    later = clock.now()

    def accepted(request: httpx.Request) -> bool:
        """Whether a receiver checking at ``later`` takes the request."""
        timestamp = request.headers["FieldRelay-Webhook-Timestamp"]
        return verify(SECRET, KEY, timestamp, request.headers["FieldRelay-Signature"], request.content, now=later)

    assert accepted(second)
    assert not accepted(first)  # the first request, replayed an hour later, is stale


def test_500_is_retryable_and_marks_the_target_down() -> None:
    failure = failure_of(httpx.Response(503, text="upstream unavailable"))
    assert failure.retryable
    assert failure.target_down
    assert failure.status_code == 503
    assert failure.retry_after_seconds is None
    assert "503" in str(failure)
    assert "upstream unavailable" in str(failure)


def test_429_with_retry_after_asks_for_that_pause() -> None:
    failure = failure_of(httpx.Response(429, headers={"Retry-After": "120"}, text="slow down"))
    assert failure.retryable
    assert failure.target_down
    assert failure.status_code == 429
    assert failure.retry_after_seconds == 120.0


def test_408_is_retryable() -> None:
    failure = failure_of(httpx.Response(408))
    assert failure.retryable
    assert failure.target_down
    assert failure.status_code == 408


@pytest.mark.parametrize(
    ("header", "expected"),
    [("Wed, 21 Oct 2026 07:28:00 GMT", None), ("soon", None), ("-5", None), ("999999", 3600.0), ("1.5", 1.5)],
)
def test_retry_after_only_honours_seconds_and_is_capped(header: str, expected: float | None) -> None:
    failure = failure_of(httpx.Response(503, headers={"Retry-After": header}))
    assert failure.retry_after_seconds == expected


def test_transport_error_is_retryable_and_marks_the_target_down() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    target = make_target(refuse)
    with pytest.raises(CrmWriteFailed) as caught:
        target.write(CHANGE)
    failure = caught.value
    assert failure.retryable
    assert failure.target_down
    assert failure.status_code is None
    assert "ConnectError" in str(failure)
    assert "hooks.example.com" in str(failure)


def test_timeout_is_retryable_and_marks_the_target_down() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    target = make_target(hang)
    with pytest.raises(CrmWriteFailed) as caught:
        target.write(CHANGE)
    assert caught.value.retryable
    assert caught.value.target_down


def test_400_is_not_retried_and_keeps_an_excerpt_of_the_body() -> None:
    reason = "contact.email is required for new contacts; " + "x" * 1000
    failure = failure_of(httpx.Response(400, text=reason))
    assert not failure.retryable
    assert not failure.target_down
    assert failure.status_code == 400
    assert "contact.email is required for new contacts" in str(failure)
    assert reason[:300] in str(failure)
    assert reason[:301] not in str(failure)


def test_400_with_an_empty_body_says_the_reason_phrase() -> None:
    failure = failure_of(httpx.Response(422))
    assert not failure.retryable
    assert "Unprocessable Entity" in str(failure)


def test_410_gone_is_not_retried_and_says_what_to_do() -> None:
    failure = failure_of(httpx.Response(410, text="endpoint disabled"))
    assert not failure.retryable
    assert not failure.target_down
    assert failure.status_code == 410
    assert "410 Gone" in str(failure)
    assert "crm.webhook.url" in str(failure)


def test_a_redirect_is_not_followed_and_not_retried() -> None:
    seen: list[httpx.Request] = []
    moved = httpx.Response(308, headers={"Location": "https://hooks.example.com/v2/inbound"})
    target = make_target(recording(moved, seen))
    with pytest.raises(CrmWriteFailed) as caught:
        target.write(CHANGE)
    assert len(seen) == 1  # not re-posted to the new address
    assert not caught.value.retryable
    assert caught.value.status_code == 308
    assert "https://hooks.example.com/v2/inbound" in str(caught.value)


@pytest.mark.parametrize("secret", [None, ""])
def test_missing_secret_is_refused_at_construction(secret: str | None) -> None:
    with pytest.raises(ValueError, match=SECRET_ENV):
        SignedWebhookTarget(WebhookOutSettings(url=URL), secret, SimulatedClock(NOW))


@pytest.mark.parametrize("url", [None, ""])
def test_missing_url_is_refused_at_construction(url: str | None) -> None:
    with pytest.raises(ValueError, match=r"crm\.webhook\.url"):
        SignedWebhookTarget(WebhookOutSettings(url=url), SECRET, SimulatedClock(NOW))
