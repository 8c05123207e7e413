"""SendGrid through POST /webhooks/sendgrid and the worker: refusals, exactly-once, order, and any signed JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldrelay.api.app import create_app
from fieldrelay.connectors.registry import inbound_connectors
from fieldrelay.connectors.sendgrid.inbound import HANDLED_EVENTS
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import activities, consents, inbox, messages
from tests.api.support import (
    HOSTILE_SETTINGS,
    WAITING_FOR_ITS_MESSAGE,
    assert_never_lost,
    drain,
    expected_keys,
    hostile_json,
    hostile_variants,
    json_values,
    payloads,
    post_webhook,
)
from tests.conftest import START, TEST_YAML
from tests.connectors.sendgrid.support import (
    OTHER_KEY,
    SIGNATURE,
    TIMESTAMP,
    add_email_message,
    encode,
    event,
    mirror,
    rows,
    sign,
)

FIXTURES = Path(__file__).with_name("fixtures")
URL = "/webhooks/sendgrid"
BOUNCED_AT = START - timedelta(minutes=2)
DELIVERED_AT = START - timedelta(minutes=5)
PROCESSED_AT = START - timedelta(minutes=6)


def post(client: TestClient, batch: Any, at: Any = START) -> tuple[int, Any]:
    """Sign a batch at ``at`` and post it."""
    body = batch if isinstance(batch, bytes) else encode(batch)
    return post_webhook(client, URL, body, sign(body, at))


# --- accepted ------------------------------------------------------------------------------------------


def test_signed_batch_is_stored_per_event_and_applied(client: TestClient, runtime: Runtime) -> None:
    """Delivered then clicked: one inbox row per event, the message delivered, the click on the timeline."""
    message_id = add_email_message(runtime.engine, "msgAAA")
    batch = [
        event("delivered", "ev-delivered", DELIVERED_AT, response="250 OK"),
        event("click", "ev-click", START - timedelta(minutes=1), url="https://rapidrooter.example/review"),
    ]
    assert post(client, batch) == (202, {"status": "accepted"})
    assert [(r.dedupe_key, r.event_type, r.status) for r in rows(runtime.engine, inbox)] == [
        ("id:ev-delivered", "delivered", "pending"),
        ("id:ev-click", "click", "pending"),
    ]
    drain(runtime)
    (message,) = rows(runtime.engine, messages)
    assert (message.id, message.status, message.status_at) == (message_id, "delivered", DELIVERED_AT)
    timeline = [(a.kind, a.summary, a.source, a.applied) for a in rows(runtime.engine, activities)]
    assert timeline == [
        ("message.clicked", "Clicked a link: https://rapidrooter.example/review", "sendgrid", True),
    ]
    assert [r.status for r in rows(runtime.engine, inbox)] == ["done", "done"]


def test_bounce_blocked_fixture_through_the_route(client: TestClient, runtime: Runtime) -> None:
    """The docs' blocked bounce, for a message fieldrelay sent as 14c5d75ce93: bounced, on the timeline."""
    add_email_message(runtime.engine, "14c5d75ce93", to="example@test.com")
    body = json.loads((Path(__file__).with_name("fixtures") / "bounce.blocked.json").read_bytes())
    assert post(client, body) == (202, {"status": "accepted"})
    drain(runtime)
    (message,) = rows(runtime.engine, messages)
    assert (message.status, message.error_code) == ("bounced", "5.0.0")
    (activity,) = rows(runtime.engine, activities)
    assert (activity.kind, activity.summary) == (
        "message.bounced",
        "Email bounced (error 5.0.0): blocked: 500 unknown recipient",
    )


# --- refused -------------------------------------------------------------------------------------------


def _tampered(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body.replace(b"ev-1", b"ev-2"), headers


def _other_key(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, sign(body, START, OTHER_KEY)


def _no_signature(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {k: v for k, v in headers.items() if k != SIGNATURE}


def _no_timestamp(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {k: v for k, v in headers.items() if k != TIMESTAMP}


def _stale(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, sign(body, START - timedelta(seconds=301))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(_tampered, "bad signature", id="tampered-body"),
        pytest.param(_other_key, "bad signature", id="wrong-key"),
        pytest.param(_no_signature, "missing signature headers", id="no-signature"),
        pytest.param(_no_timestamp, "missing signature headers", id="no-timestamp"),
        pytest.param(_stale, "timestamp outside the allowed window", id="stale-timestamp"),
    ],
)
def test_refused_with_401_and_nothing_stored(
    client: TestClient,
    runtime: Runtime,
    mutate: Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]],
    reason: str,
) -> None:
    body = encode([event("delivered", "ev-1", START)])
    body, headers = mutate(body, sign(body, START))
    response = client.post(URL, content=body, headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": reason})
    assert rows(runtime.engine, inbox) == []


def test_no_verification_key_configured_refuses_everything(runtime: Runtime) -> None:
    """Fail closed: without connectors.sendgrid.verification_key even a well-signed batch is refused."""
    runtime.settings = parse_settings(TEST_YAML, "test.yaml")
    runtime.inbound = inbound_connectors(runtime.settings)
    with TestClient(create_app(runtime)) as client:
        assert post(client, [event("delivered", "ev-1", START)]) == (401, {"error": "no verification key configured"})
    assert rows(runtime.engine, inbox) == []


# --- exactly once and order ----------------------------------------------------------------------------


def test_redelivery_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    """SendGrid retries a batch it thinks failed: 200 duplicate, one row per event, the mirror unchanged."""
    add_email_message(runtime.engine, "msgAAA")
    batch = [
        event("bounce", "ev-bounce", BOUNCED_AT, reason="550 mailbox unavailable", status="5.1.1"),
        event("unsubscribe", "ev-unsub", BOUNCED_AT),
    ]
    assert post(client, batch)[0] == 202
    drain(runtime)
    before = mirror(runtime.engine)
    assert post(client, batch, at=START + timedelta(seconds=30)) == (200, {"status": "duplicate"})
    drain(runtime)
    assert mirror(runtime.engine) == before
    assert [(r.dedupe_key, r.deliveries, r.status) for r in rows(runtime.engine, inbox)] == [
        ("id:ev-bounce", 2, "done"),
        ("id:ev-unsub", 2, "done"),
    ]


def test_late_delivered_and_processed_after_bounce_do_not_roll_it_back(client: TestClient, runtime: Runtime) -> None:
    """Bounce first, then the older "delivered" and "processed": the message stays bounced."""
    add_email_message(runtime.engine, "msgAAA")
    assert post(client, [event("bounce", "ev-bounce", BOUNCED_AT, reason="550 no such user", status="5.1.1")])[0] == 202
    drain(runtime)
    late = [event("delivered", "ev-delivered", DELIVERED_AT), event("processed", "ev-processed", PROCESSED_AT)]
    assert post(client, late)[0] == 202
    drain(runtime)
    (message,) = rows(runtime.engine, messages)
    assert (message.status, message.status_at, message.error_code) == ("bounced", BOUNCED_AT, "5.1.1")
    assert [r.status for r in rows(runtime.engine, inbox)] == ["done", "done", "done"]
    # The disagreeing final report is shown, not applied; the routine late "processed" is only logged.
    assert [(a.kind, a.applied) for a in rows(runtime.engine, activities)] == [
        ("message.bounced", True),
        ("message.delivered", False),
    ]


def test_late_delivery_receipt_is_shown_on_the_timeline_as_not_applied(client: TestClient, runtime: Runtime) -> None:
    """DESIGN: an out-of-order event is logged, not applied. For message receipts nothing records it."""
    add_email_message(runtime.engine, "msgAAA")
    post(client, [event("bounce", "ev-bounce", BOUNCED_AT)])
    drain(runtime)
    post(client, [event("delivered", "ev-delivered", DELIVERED_AT)])
    drain(runtime)
    assert [(a.kind, a.applied) for a in rows(runtime.engine, activities)][-1] == ("message.delivered", False)


def test_late_resubscribe_after_unsubscribe_is_logged_not_applied(client: TestClient, runtime: Runtime) -> None:
    """An older group_resubscribe arriving after an unsubscribe does not opt the address back in."""
    add_email_message(runtime.engine, "msgAAA")
    assert post(client, [event("unsubscribe", "ev-unsub", START - timedelta(minutes=1))])[0] == 202
    drain(runtime)
    late = event("group_resubscribe", "ev-resub", START - timedelta(minutes=3), asm_group_id=7)
    assert post(client, [late])[0] == 202
    drain(runtime)
    (consent,) = rows(runtime.engine, consents)
    assert (consent.address, consent.opted_out, consent.reason) == ("pat.doe@example.com", True, "unsubscribe")
    timeline = [(a.kind, a.applied, a.summary) for a in rows(runtime.engine, activities)]
    assert timeline == [
        ("consent.opted_out", True, "Opted out of email (unsubscribe)"),
        (
            "consent.opted_in",
            False,
            "Opted back in to email (group resubscribe (group 7)) — not applied: a later consent change is already"
            " recorded",
        ),
    ]


# --- any signed JSON -----------------------------------------------------------------------------------

_JSON = json_values(max_text=20, max_key=8)
_EVENT = st.fixed_dictionaries(
    {"event": st.sampled_from([*HANDLED_EVENTS, "account_status_change"]) | _JSON},
    optional={
        "timestamp": st.integers(int(START.timestamp()) - 3600, int(START.timestamp())) | _JSON,
        "email": st.emails() | _JSON,
        "sg_event_id": st.text(max_size=30) | _JSON,
        "sg_message_id": st.sampled_from(["msgAAA.filter0001.1", "other.x"]) | _JSON,
        "reason": _JSON,
        "status": _JSON,
        "type": st.sampled_from(["bounce", "blocked"]),
        "url": _JSON,
        "asm_group_id": _JSON,
    },
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.lists(st.one_of(_EVENT, _JSON), max_size=4), _EVENT, _JSON))
def test_any_signed_json_is_stored_and_settles_never_lost(client: TestClient, runtime: Runtime, body: Any) -> None:
    """Every item of any signed JSON body is in the inbox; after the worker it is done, ignored or in the error queue.

    "pending" is allowed only for a receipt retried because its message is not known yet (TemporaryFailure).
    """
    raw = encode(body)
    status, _ = post(client, raw)
    assert status in (200, 202)
    keys = expected_keys(runtime.inbound["sendgrid"], raw)
    drain(runtime)
    assert_never_lost(runtime, keys, pending_because=WAITING_FOR_ITS_MESSAGE)


@HOSTILE_SETTINGS
@given(value=st.sampled_from(payloads(FIXTURES)).flatmap(hostile_variants))
def test_hostile_signed_bodies_are_never_a_5xx_and_settle(client: TestClient, runtime: Runtime, value: Any) -> None:
    """Real payloads with lone surrogates, NUL, 10^30, 5,000-digit integers, far-offset dates or deep nesting (values
    and keys): never a 5xx, and after the worker every row is applied, ignored or in the error queue."""
    status, _ = post(client, hostile_json(value))
    assert status in (200, 202)
    drain(runtime)
    assert_never_lost(runtime, pending_because=WAITING_FOR_ITS_MESSAGE)
