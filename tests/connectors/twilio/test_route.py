"""Twilio through POST /webhooks/twilio and the worker, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldrelay.api.app import create_app
from fieldrelay.connectors.registry import inbound_connectors
from fieldrelay.connectors.twilio.inbound import STATUS_MAP, TwilioInbound
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.ops.errors import list_errors
from fieldrelay.storage.tables import activities, consents, customers, inbox, jobs, messages, outbox, timers
from tests.api.support import (
    HOSTILE_SETTINGS,
    app_of,
    assert_never_lost,
    deliver,
    drain,
    hostile_variants,
    payloads,
)
from tests.conftest import START
from tests.connectors.twilio.support import CUSTOMER_NUMBER, FIXTURES, form_body, params, twilio_headers
from tests.helpers import job_envelope
from tests.service.support import count, rows

SERVER_URL = "http://testserver/webhooks/twilio"  # what the app sees from the TestClient
PUBLIC_URL = "https://relay.example.com/webhooks/twilio"  # what Twilio posted to, before the proxy
OUTBOUND_SID = "SM" + "21" * 16


@pytest.fixture
def client(client: TestClient, twilio_runtime: Runtime) -> TestClient:
    """The test client, on the runtime whose Twilio connector reads the simulated clock."""
    return client


def post(
    client: TestClient, values: dict[str, str], url: str = SERVER_URL, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a Twilio form, signed for ``url`` unless other headers are given."""
    signed = headers or twilio_headers(url, values)
    response: httpx.Response = client.post("/webhooks/twilio", content=form_body(values), headers=signed)
    return response


def mirror(runtime: Runtime) -> dict[str, list[Any]]:
    """Every row the worker could write, for "nothing changed" comparisons."""
    return {t.name: rows(runtime, t) for t in (customers, jobs, activities, timers, messages, outbox, consents)}


def known_customer(client: TestClient) -> str:
    """Pat Doe, (512) 555-0142, from a Housecall Pro job; returns the mirror customer id."""
    deliver(client, job_envelope("job.created", "2026-11-02T13:00:00Z"), START)
    runtime: Runtime = app_of(client).state.runtime
    drain(runtime)
    (customer,) = rows(runtime, customers)
    return str(customer.id)


def sent_text(runtime: Runtime, customer_id: str, status: str = "sent") -> str:
    """A text fieldrelay sent, with Twilio's message sid, written through the runtime's engine."""
    with runtime.engine.begin() as conn:
        return SqlMirror(conn, runtime.settings.account_id, START).insert_message(
            {
                "customer_id": customer_id,
                "channel": "sms",
                "purpose": "review_request",
                "to_address": CUSTOMER_NUMBER,
                "body": "Would you leave us a quick review?",
                "status": status,
                "scheduled_for": START,
                "sent_at": START,
                "provider_message_id": OUTBOUND_SID,
            }
        )


def advance(runtime: Runtime, seconds: float) -> None:
    clock = runtime.clock
    assert isinstance(clock, SimulatedClock)
    clock.advance(seconds)


# --- intake: accepted, refused, redelivered ----------------------------------------------------------------


def test_registry_builds_twilio_with_the_env_token(runtime: Runtime) -> None:
    connector = inbound_connectors(runtime.settings)["twilio"]
    assert isinstance(connector, TwilioInbound) and connector.name == "twilio"
    assert connector._secret == "test-twilio-auth-token-0123456789"


def test_signed_text_is_accepted_and_stored(client: TestClient, twilio_runtime: Runtime) -> None:
    response = post(client, params("sms.received"))
    assert (response.status_code, response.json()) == (202, {"status": "accepted"})
    (row,) = rows(twilio_runtime, inbox)
    assert (row.connector, row.dedupe_key, row.event_type) == ("twilio", "in:SM" + "11" * 16, "sms.received")
    assert "x-twilio-signature" not in row.headers


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(lambda v, h: (v | {"Body": "STOP"}, h), "bad signature", id="tampered-body"),
        pytest.param(
            lambda v, h: (v, twilio_headers(SERVER_URL, v, token="not-the-token")), "bad signature", id="wrong-token"
        ),
        pytest.param(
            lambda v, h: (v, {"Content-Type": "application/x-www-form-urlencoded"}),
            "missing X-Twilio-Signature header",
            id="no-header",
        ),
    ],
)
def test_refused_with_401_and_nothing_stored(
    client: TestClient, twilio_runtime: Runtime, mutate: Any, reason: str
) -> None:
    """There is no stale-timestamp case: Twilio signs no timestamp (a replay is a duplicate, see below)."""
    values = params("sms.received")
    values, headers = mutate(values, twilio_headers(SERVER_URL, values))
    response = post(client, values, headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": reason})
    assert count(twilio_runtime, inbox) == 0


def test_without_a_token_every_delivery_is_refused(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDRELAY_TWILIO_SECRET")
    runtime.inbound = inbound_connectors(runtime.settings)
    response = post(TestClient(create_app(runtime)), params("sms.stop"))
    assert (response.status_code, response.json()) == (401, {"error": "no secret configured"})
    assert count(runtime, inbox) == 0


def test_behind_a_proxy_the_public_url_is_what_is_verified(twilio_runtime: Runtime) -> None:
    """Twilio signs the URL it posted to; behind a proxy the app sees another. public_base_url restores it."""
    values = params("sms.received")
    client = TestClient(create_app(twilio_runtime))
    refused = post(client, values, url=PUBLIC_URL)
    assert (refused.status_code, refused.json()) == (401, {"error": "bad signature"})
    assert count(twilio_runtime, inbox) == 0

    twilio_runtime.settings = twilio_runtime.settings.model_copy(
        update={"public_base_url": "https://relay.example.com/"}
    )
    accepted = post(client, values, url=PUBLIC_URL)
    assert accepted.status_code == 202
    assert count(twilio_runtime, inbox) == 1
    # And now a request signed for the address the app sees is the one refused.
    assert post(client, params("sms.help"), url=SERVER_URL).status_code == 401


def test_redelivery_and_replay_change_nothing(client: TestClient, twilio_runtime: Runtime) -> None:
    """Twilio retries, or someone replays a capture days later (no timestamp to refuse it by): a duplicate."""
    known_customer(client)
    assert post(client, params("sms.stop")).status_code == 202
    drain(twilio_runtime)
    before = mirror(twilio_runtime)
    advance(twilio_runtime, 3 * 24 * 3600)
    again = post(client, params("sms.stop"))
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    drain(twilio_runtime)
    assert mirror(twilio_runtime) == before
    (row,) = rows(twilio_runtime, inbox, inbox.c.connector == "twilio")
    assert (row.deliveries, row.status) == (2, "done")


# --- through the worker ---------------------------------------------------------------------------------


def test_stop_then_start_from_a_customer(client: TestClient, twilio_runtime: Runtime) -> None:
    customer_id = known_customer(client)
    post(client, params("sms.stop"))
    drain(twilio_runtime)
    (customer,) = rows(twilio_runtime, customers)
    assert customer.sms_opted_out is True
    (consent,) = rows(twilio_runtime, consents)
    assert (consent.address, consent.opted_out, consent.reason, consent.source) == (
        CUSTOMER_NUMBER,
        True,
        "STOP",
        "twilio",
    )
    assert consent.changed_at == START

    advance(twilio_runtime, 60)
    post(client, params("sms.start"))
    drain(twilio_runtime)
    (customer,) = rows(twilio_runtime, customers)
    assert customer.sms_opted_out is False
    (consent,) = rows(twilio_runtime, consents)
    assert (consent.opted_out, consent.changed_at) == (False, START + timedelta(seconds=60))
    kinds = [a.kind for a in rows(twilio_runtime, activities, activities.c.customer_id == customer_id)]
    assert kinds[-2:] == ["consent.opted_out", "consent.opted_in"]


def test_stop_from_a_number_nobody_holds_is_still_recorded(client: TestClient, twilio_runtime: Runtime) -> None:
    post(client, params("sms.stop") | {"From": "+15125550177"})
    drain(twilio_runtime)
    (consent,) = rows(twilio_runtime, consents)
    assert (consent.address, consent.opted_out) == ("+15125550177", True)
    assert {r.status for r in rows(twilio_runtime, inbox)} == {"done"}


def test_reply_and_help_go_on_the_customers_timeline(client: TestClient, twilio_runtime: Runtime) -> None:
    customer_id = known_customer(client)
    post(client, params("sms.received"))
    post(client, params("sms.help"))
    drain(twilio_runtime)
    timeline = rows(twilio_runtime, activities, activities.c.customer_id == customer_id)
    replied = [a for a in timeline if a.kind == "message.replied"]
    assert [a.summary for a in replied] == [
        "Replied: Can you come Thursday morning instead? The side gate code is 4821."
    ]
    assert [a.source for a in timeline if a.kind == "message.help"] == ["twilio"]


def test_reply_from_an_unknown_number_is_in_the_error_queue(client: TestClient, twilio_runtime: Runtime) -> None:
    post(client, params("sms.received") | {"From": "+15125550177"})
    drain(twilio_runtime)
    with twilio_runtime.engine.connect() as conn:
        (item,) = list_errors(conn, twilio_runtime.settings.account_id)
    assert item.source == "twilio" and item.summary == "webhook sms.received"
    assert item.error == "a reply from <phone> matches no customer"  # no personal data in the error queue


def test_delivery_receipts_move_the_message_forward(client: TestClient, twilio_runtime: Runtime) -> None:
    message_id = sent_text(twilio_runtime, known_customer(client), status="sending")
    for name in ("status.queued", "status.sent", "status.delivered"):
        advance(twilio_runtime, 5)
        assert post(client, params(name)).status_code == 202
        drain(twilio_runtime)
    (message,) = rows(twilio_runtime, messages, messages.c.id == message_id)
    assert (message.status, message.status_at, message.error_code) == ("delivered", START + timedelta(seconds=15), None)


def test_a_late_sent_after_delivered_does_not_roll_the_message_back(
    client: TestClient, twilio_runtime: Runtime
) -> None:
    message_id = sent_text(twilio_runtime, known_customer(client))
    post(client, params("status.delivered"))
    drain(twilio_runtime)
    advance(twilio_runtime, 30)
    assert post(client, params("status.sent")).status_code == 202
    drain(twilio_runtime)
    (message,) = rows(twilio_runtime, messages, messages.c.id == message_id)
    assert (message.status, message.status_at) == ("delivered", START)
    assert {r.status for r in rows(twilio_runtime, inbox)} == {"done"}


def test_undelivered_goes_on_the_timeline(client: TestClient, twilio_runtime: Runtime) -> None:
    customer_id = known_customer(client)
    with twilio_runtime.engine.begin() as conn:
        SqlMirror(conn, "default", START).insert_message(
            {
                "customer_id": customer_id,
                "channel": "sms",
                "purpose": "review_request",
                "to_address": CUSTOMER_NUMBER,
                "body": "hi",
                "status": "sent",
                "scheduled_for": START,
                "provider_message_id": "SM" + "22" * 16,
            }
        )
    post(client, params("status.undelivered"))
    drain(twilio_runtime)
    (message,) = rows(twilio_runtime, messages)
    assert (message.status, message.error_code) == ("undelivered", "30003")
    (note,) = rows(twilio_runtime, activities, activities.c.kind == "message.undelivered")
    assert note.summary == "SMS undelivered (error 30003): unreachable destination handset"


def test_error_21610_marks_the_text_failed_and_the_number_opted_out(
    client: TestClient, twilio_runtime: Runtime
) -> None:
    customer_id = known_customer(client)
    with twilio_runtime.engine.begin() as conn:
        SqlMirror(conn, "default", START).insert_message(
            {
                "customer_id": customer_id,
                "channel": "sms",
                "purpose": "review_request",
                "to_address": CUSTOMER_NUMBER,
                "body": "hi",
                "status": "sending",
                "scheduled_for": START,
                "provider_message_id": "SM" + "25" * 16,
            }
        )
    post(client, params("status.failed.21610"))
    drain(twilio_runtime)
    (message,) = rows(twilio_runtime, messages)
    assert (message.status, message.error_code) == ("failed", "21610")
    (consent,) = rows(twilio_runtime, consents)
    assert (consent.address, consent.opted_out, consent.reason) == (CUSTOMER_NUMBER, True, "Twilio error 21610")
    (customer,) = rows(twilio_runtime, customers)
    assert customer.sms_opted_out is True


def test_a_receipt_that_overtakes_the_send_record_is_applied_on_retry(
    client: TestClient, twilio_runtime: Runtime
) -> None:
    customer_id = known_customer(client)
    post(client, params("status.sent"))
    drain(twilio_runtime)
    (row,) = rows(twilio_runtime, inbox, inbox.c.connector == "twilio")
    assert row.status == "pending" and row.last_error.startswith("temporary: no message with provider id")
    message_id = sent_text(twilio_runtime, customer_id, status="sending")
    advance(twilio_runtime, 31)
    drain(twilio_runtime)
    (message,) = rows(twilio_runtime, messages, messages.c.id == message_id)
    # Stamped with the time the callback arrived, not the time of the retry that applied it.
    assert (message.status, message.status_at) == ("sent", START)


# --- property: any signed form ends stored and visible, never lost, never a 5xx -------------------------

_VALUES = st.one_of(st.text(max_size=20), st.sampled_from(["STOP", "start", "help", "21610", CUSTOMER_NUMBER, ""]))
_FORMS = st.one_of(
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5),
    st.fixed_dictionaries(
        {"MessageSid": st.one_of(st.just(OUTBOUND_SID), st.text(max_size=40))},
        optional={
            "MessageStatus": st.one_of(st.sampled_from(sorted(STATUS_MAP)), _VALUES),
            "Body": _VALUES,
            "OptOutType": _VALUES,
            "ErrorCode": _VALUES,
            "From": _VALUES,
            "To": _VALUES,
        },
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=_FORMS)
def test_any_signed_form_is_stored_and_ends_visible(client: TestClient, twilio_runtime: Runtime, values: Any) -> None:
    response = post(client, values)
    assert response.status_code in (200, 202), response.text
    drain(twilio_runtime)
    # Receipts for messages nobody sent wait out the grace period and the retry policy before they settle.
    for _ in range(4):
        advance(twilio_runtime, 15 * 60)
        drain(twilio_runtime)
    stored, listed = assert_never_lost(twilio_runtime, dead=True)
    assert listed == {f"inbox-{r.id}" for r in stored if r.status in ("error", "dead")}


def _as_form(value: Any) -> dict[str, str]:
    """A hostile variant as form fields: text only, and a lone surrogate (not encodable in a form) as U+FFFD."""
    fit = lambda v: str(v).encode("utf-8", "replace").decode()  # noqa: E731
    return {fit(k): fit(v) for k, v in value.items()} if isinstance(value, dict) else {"Body": fit(value)}


@HOSTILE_SETTINGS
@given(value=st.sampled_from(payloads(FIXTURES)).flatmap(hostile_variants))
def test_hostile_signed_forms_are_never_a_5xx_and_settle(
    client: TestClient, twilio_runtime: Runtime, value: Any
) -> None:
    """Real payloads with lone surrogates, NUL, 10^30, 5,000-digit integers, far-offset dates or deep nesting (values
    and keys): never a 5xx, and after the worker every row is applied, ignored or in the error queue."""
    response = post(client, _as_form(value))
    assert response.status_code in (200, 202), response.text
    drain(twilio_runtime)
    for _ in range(4):  # receipts for messages nobody sent wait out the grace period and the retries
        advance(twilio_runtime, 15 * 60)
        drain(twilio_runtime)
    assert_never_lost(twilio_runtime, dead=True)
