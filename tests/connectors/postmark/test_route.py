"""Postmark through POST /webhooks/postmark and the worker: refusals, exactly-once, order, and any JSON body."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldrelay.api.app import create_app
from fieldrelay.connectors.postmark.inbound import HANDLED_EVENTS
from fieldrelay.connectors.registry import inbound_connectors
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
from tests.conftest import START
from tests.connectors.postmark.support import (
    MESSAGE_ID,
    TO,
    add_email_message,
    basic,
    encode,
    mirror,
    record,
    rows,
)

FIXTURES = Path(__file__).with_name("fixtures")
URL = "/webhooks/postmark"
BOUNCED_AT = START - timedelta(minutes=2)
DELIVERED_AT = START - timedelta(minutes=5)


def post(client: TestClient, data: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """Post one record with the test credentials (or the given headers)."""
    body = data if isinstance(data, bytes) else encode(data)
    return post_webhook(client, URL, body, basic() if headers is None else headers)


# --- accepted ------------------------------------------------------------------------------------------


def test_delivery_then_click_are_applied(client: TestClient, runtime: Runtime) -> None:
    message_id = add_email_message(runtime.engine)
    assert post(client, record("Delivery", DELIVERED_AT)) == (202, {"status": "accepted"})
    click = record("Click", START - timedelta(minutes=1), OriginalLink="https://rapidrooter.example/estimate/42")
    assert post(client, click) == (202, {"status": "accepted"})
    drain(runtime)
    (message,) = rows(runtime.engine, messages)
    assert (message.id, message.status, message.status_at) == (message_id, "delivered", DELIVERED_AT)
    assert [(a.kind, a.summary, a.source, a.applied) for a in rows(runtime.engine, activities)] == [
        ("message.clicked", "Clicked a link: https://rapidrooter.example/estimate/42", "postmark", True),
    ]
    stored = rows(runtime.engine, inbox)
    assert [(r.event_type, r.status) for r in stored] == [("Delivery", "done"), ("Click", "done")]
    assert all("authorization" not in r.headers for r in stored), "credentials must never be stored"


def test_spam_complaint_opts_the_address_out(client: TestClient, runtime: Runtime) -> None:
    add_email_message(runtime.engine)
    assert post(client, record("SpamComplaint", BOUNCED_AT))[0] == 202
    drain(runtime)
    (consent,) = rows(runtime.engine, consents)
    assert (consent.channel, consent.address, consent.opted_out, consent.reason, consent.source) == (
        "email",
        TO,
        True,
        "spam complaint",
        "postmark",
    )


# --- refused -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({"Content-Type": "application/json"}, "missing credentials", id="no-authorization"),
        pytest.param(basic("fieldrelay:wrong-password"), "wrong credentials", id="wrong-password"),
        pytest.param(basic("someone:pm-test-password"), "wrong credentials", id="wrong-user"),
        pytest.param({"Authorization": "Bearer pm-test-password"}, "not HTTP Basic credentials", id="not-basic"),
        pytest.param({"Authorization": "Basic %%%"}, "unreadable credentials", id="garbled"),
    ],
)
def test_refused_with_401_and_nothing_stored(
    client: TestClient, runtime: Runtime, headers: dict[str, str], reason: str
) -> None:
    assert post(client, record("Delivery", DELIVERED_AT), headers) == (401, {"error": reason})
    assert rows(runtime.engine, inbox) == []


def test_no_secret_configured_refuses_everything(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDRELAY_POSTMARK_SECRET")
    runtime.inbound = inbound_connectors(runtime.settings)
    with TestClient(create_app(runtime)) as client:
        assert post(client, record("Delivery", DELIVERED_AT)) == (401, {"error": "no secret configured"})
    assert rows(runtime.engine, inbox) == []


def test_body_is_unsigned_so_only_the_credentials_are_checked(client: TestClient, runtime: Runtime) -> None:
    """Postmark signs nothing and sends no timestamp: a changed body with good credentials cannot be told apart.

    This is the limit of Postmark's scheme (HTTP Basic over HTTPS), documented in the connector; the dedupe key
    is the only replay protection.
    """
    body = encode(record("Delivery", DELIVERED_AT)).replace(b"smtp;250", b"smtp;251")
    assert post(client, body)[0] == 202


# --- exactly once and order ----------------------------------------------------------------------------


def test_redelivery_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    add_email_message(runtime.engine)
    bounce = record("Bounce", BOUNCED_AT)
    open_ = record("Open", START - timedelta(minutes=1))
    assert post(client, bounce)[0] == 202 and post(client, open_)[0] == 202
    drain(runtime)
    before = mirror(runtime.engine)
    assert post(client, bounce) == (200, {"status": "duplicate"})
    assert post(client, open_) == (200, {"status": "duplicate"})
    drain(runtime)
    assert mirror(runtime.engine) == before
    assert [(r.event_type, r.deliveries, r.status) for r in rows(runtime.engine, inbox)] == [
        ("Bounce", 2, "done"),
        ("Open", 2, "done"),
    ]


def test_a_second_open_of_the_same_message_is_a_new_event(client: TestClient, runtime: Runtime) -> None:
    add_email_message(runtime.engine)
    assert post(client, record("Open", START - timedelta(minutes=3)))[0] == 202
    assert post(client, record("Open", START - timedelta(minutes=1), FirstOpen=False)) == (202, {"status": "accepted"})
    drain(runtime)
    assert [a.kind for a in rows(runtime.engine, activities)] == ["message.opened", "message.opened"]


def test_late_delivery_after_bounce_does_not_roll_it_back(client: TestClient, runtime: Runtime) -> None:
    add_email_message(runtime.engine)
    assert post(client, record("Bounce", BOUNCED_AT))[0] == 202
    drain(runtime)
    assert post(client, record("Delivery", DELIVERED_AT))[0] == 202
    drain(runtime)
    (message,) = rows(runtime.engine, messages)
    assert (message.status, message.status_at, message.error_code) == ("bounced", BOUNCED_AT, "HardBounce")
    assert [r.status for r in rows(runtime.engine, inbox)] == ["done", "done"]
    # Two final reports disagree: the older one is on the timeline, marked not applied.
    assert [(a.kind, a.applied) for a in rows(runtime.engine, activities)] == [
        ("message.bounced", True),
        ("message.delivered", False),
    ]


def test_late_reactivation_after_suppression_is_logged_not_applied(client: TestClient, runtime: Runtime) -> None:
    add_email_message(runtime.engine)
    assert post(client, record("SubscriptionChange", START - timedelta(minutes=1)))[0] == 202
    drain(runtime)
    late = record("SubscriptionChange", START - timedelta(minutes=4), SuppressSending=False, Origin="Customer")
    assert post(client, late)[0] == 202
    drain(runtime)
    (consent,) = rows(runtime.engine, consents)
    assert (consent.opted_out, consent.reason) == (True, "suppressed: ManualSuppression")
    assert [(a.kind, a.applied) for a in rows(runtime.engine, activities)] == [
        ("consent.opted_out", True),
        ("consent.opted_in", False),
    ]


# --- any JSON with good credentials --------------------------------------------------------------------

_JSON = json_values(max_text=20, max_key=8)
_TIMES = st.integers(1, 7200).map(lambda s: (START - timedelta(seconds=s)).isoformat()) | _JSON
_RECORD = st.fixed_dictionaries(
    {"RecordType": st.sampled_from([*HANDLED_EVENTS, "Inbound"]) | _JSON},
    optional={
        "MessageID": st.sampled_from([MESSAGE_ID, "unknown-id"]) | _JSON,
        "Recipient": st.emails() | _JSON,
        "Email": st.emails() | _JSON,
        "DeliveredAt": _TIMES,
        "BouncedAt": _TIMES,
        "ReceivedAt": _TIMES,
        "ChangedAt": _TIMES,
        "Type": st.sampled_from(["HardBounce", "AutoResponder", "Unsubscribe"]) | _JSON,
        "SuppressSending": st.booleans() | _JSON,
        "OriginalLink": _JSON,
    },
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(_RECORD, _JSON))
def test_any_json_is_stored_and_settles_never_lost(client: TestClient, runtime: Runtime, body: Any) -> None:
    """Any JSON with good credentials is in the inbox and ends done, ignored or in the error queue.

    "pending" is allowed only for a receipt retried because its message is not known yet (TemporaryFailure).
    """
    raw = encode(body)
    status, _ = post(client, raw)
    assert status in (200, 202)
    keys = expected_keys(runtime.inbound["postmark"], raw)
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
