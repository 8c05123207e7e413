"""Stripe through POST /webhooks/stripe and the worker, on SQLite and PostgreSQL."""

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
from fieldrelay.connectors.stripe.inbound import StripeInbound
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.storage.ops.errors import list_errors
from fieldrelay.storage.tables import activities, customers, dev_sms_sent, inbox, jobs, messages, outbox, timers
from tests.api.support import (
    HOSTILE_SETTINGS,
    app_of,
    assert_never_lost,
    deliver,
    drain,
    hostile_json,
    hostile_variants,
    payloads,
)
from tests.conftest import START
from tests.connectors.stripe.support import FIXTURES, PI_ID, encode, event, job_metadata, stripe_headers
from tests.helpers import job_envelope
from tests.service.support import count, rows

REVIEW_DELAY = timedelta(minutes=30)


def post(client: TestClient, data: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST a Stripe delivery signed now (or with the given headers)."""
    body = data if isinstance(data, bytes) else encode(data)
    runtime: Runtime = app_of(client).state.runtime
    signed = headers or stripe_headers(body, runtime.clock.now())
    response: httpx.Response = client.post("/webhooks/stripe", content=body, headers=signed)
    return response


def mirror(runtime: Runtime) -> dict[str, list[Any]]:
    """Every row the worker could write, for "nothing changed" comparisons."""
    return {t.name: rows(runtime, t) for t in (customers, jobs, activities, timers, messages, outbox, dev_sms_sent)}


def paid_by_stripe(
    event_id: str, name: str = "payment_intent.succeeded", seconds: int = 0, **obj: Any
) -> dict[str, Any]:
    """A Stripe payment event for Housecall Pro job_1, created ``seconds`` after START."""
    fields = {"metadata": job_metadata("job_1")} | obj
    return event(name, event_id=event_id, created=START + timedelta(seconds=seconds), **fields)


def completed_hcp_job(client: TestClient) -> None:
    """Housecall Pro (the field tool that owns the job) books and completes job_1."""
    deliver(client, job_envelope("job.created", "2026-11-02T13:00:00Z"), START)
    deliver(client, job_envelope("job.completed", "2026-11-02T14:50:00Z"), START)


# --- intake: accepted, refused, redelivered ----------------------------------------------------------------


def test_registry_builds_stripe_with_the_env_secret_and_configured_tolerance(runtime: Runtime) -> None:
    connector = inbound_connectors(runtime.settings)["stripe"]
    assert isinstance(connector, StripeInbound) and connector.name == "stripe"
    assert connector._secret == "whsec_test_fieldrelay_0123456789abcdef"
    assert connector._tolerance == runtime.settings.connectors.stripe.tolerance_seconds == 300


def test_signed_payment_is_accepted_and_stored(client: TestClient, runtime: Runtime) -> None:
    response = post(client, paid_by_stripe("evt_a"))
    assert (response.status_code, response.json()) == (202, {"status": "accepted"})
    (row,) = rows(runtime, inbox)
    assert (row.connector, row.dedupe_key, row.event_type, row.status) == (
        "stripe",
        "evt_a",
        "payment_intent.succeeded",
        "pending",
    )
    assert "stripe-signature" not in row.headers


def _tamper(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body.replace(b'"amount":1099', b'"amount":1'), headers


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(_tamper, "bad signature", id="tampered-body"),
        pytest.param(
            lambda b, h: (b, stripe_headers(b, START, secret="whsec_someone_else")), "bad signature", id="wrong-secret"
        ),
        pytest.param(
            lambda b, h: (b, {"Content-Type": "application/json"}), "missing Stripe-Signature header", id="no-header"
        ),
        pytest.param(
            lambda b, h: (b, stripe_headers(b, START - timedelta(minutes=6))),
            "timestamp outside the allowed window",
            id="stale-timestamp",
        ),
        pytest.param(
            lambda b, h: (b, stripe_headers(b, START + timedelta(minutes=6))),
            "timestamp outside the allowed window",
            id="future-timestamp",
        ),
    ],
)
def test_refused_with_401_and_nothing_stored(client: TestClient, runtime: Runtime, mutate: Any, reason: str) -> None:
    body = encode(paid_by_stripe("evt_a"))
    body, headers = mutate(body, stripe_headers(body, START))
    response = post(client, body, headers)
    assert (response.status_code, response.json()) == (401, {"error": reason})
    assert count(runtime, inbox) == 0


def test_without_a_secret_every_delivery_is_refused(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDRELAY_STRIPE_SECRET")
    runtime.inbound = inbound_connectors(runtime.settings)
    response = post(TestClient(create_app(runtime)), paid_by_stripe("evt_a"))
    assert (response.status_code, response.json()) == (401, {"error": "no secret configured"})
    assert count(runtime, inbox) == 0


def test_redelivery_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    completed_hcp_job(client)
    assert post(client, paid_by_stripe("evt_a")).status_code == 202
    drain(runtime)
    before = mirror(runtime)
    runtime.clock.advance(120)  # type: ignore[attr-defined]
    # Stripe retries the stored event: same id, signed anew with a later timestamp.
    again = post(client, paid_by_stripe("evt_a"))
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    drain(runtime)
    assert mirror(runtime) == before
    (row,) = rows(runtime, inbox, inbox.c.connector == "stripe")
    assert (row.deliveries, row.status) == (2, "done")


# --- through the worker ---------------------------------------------------------------------------------


@pytest.mark.parametrize("charge_seconds", [0, 1, -1], ids=["same-second", "charge-later", "charge-earlier"])
def test_payment_intent_and_its_charge_mark_the_job_paid_and_ask_for_a_review_once(
    client: TestClient, runtime: Runtime, charge_seconds: int
) -> None:
    completed_hcp_job(client)
    assert post(client, paid_by_stripe("evt_pi")).status_code == 202
    charge = paid_by_stripe("evt_ch", "charge.succeeded", charge_seconds)
    assert post(client, charge).status_code == 202
    drain(runtime)

    (job,) = rows(runtime, jobs)
    assert (job.status, job.balance_cents) == ("paid", 0)
    assert job.paid_at == START  # the first event of the payment decides; its charge is the same payment
    (timer,) = rows(runtime, timers)
    (message,) = rows(runtime, messages)
    assert (timer.kind, message.purpose, message.status) == ("review_request", "review_request", "scheduled")
    assert message.scheduled_for == START + REVIEW_DELAY
    paid = rows(runtime, activities, activities.c.kind == "job.paid")
    assert all(f"({PI_ID})" in a.summary and "($10.99)" in a.summary for a in paid)
    assert [a.source for a in paid] == ["stripe"]
    # The charge either re-applies "paid" a second later (same job, nothing new scheduled) or is logged not applied.
    assert [a.applied for a in paid] == [True]
    assert {r.status for r in rows(runtime, inbox)} == {"done"}

    runtime.clock.advance(REVIEW_DELAY.total_seconds() + 1)  # type: ignore[attr-defined]
    drain(runtime)
    (text,) = rows(runtime, dev_sms_sent)
    assert text.to_address == "+15125550142" and "review" in text.body


def test_a_charge_without_job_metadata_is_ignored_not_matched_to_another_job(
    client: TestClient, runtime: Runtime
) -> None:
    """Pat has a second open job: matching the bare charge by contact would have marked that one paid too."""
    completed_hcp_job(client)
    deliver(client, job_envelope("job.created", "2026-11-02T14:00:00Z", job_id="job_2"), START)
    post(client, paid_by_stripe("evt_pi"))
    post(client, paid_by_stripe("evt_ch", "charge.succeeded", metadata={}))
    drain(runtime)
    statuses = {r.status for r in rows(runtime, jobs)}
    assert statuses == {"paid", "booked"}
    (ignored,) = rows(runtime, inbox, inbox.c.status == "ignored")
    assert ignored.event_type == "charge.succeeded"
    assert count(runtime, timers) == 1


def test_payment_matched_by_payer_email_when_no_job_is_named(client: TestClient, runtime: Runtime) -> None:
    completed_hcp_job(client)
    paid = event(
        "invoice.paid", event_id="evt_inv", created=START, customer_email="PAT.DOE@example.com", customer_phone=None
    )
    assert post(client, paid).status_code == 202
    drain(runtime)
    (job,) = rows(runtime, jobs)
    assert (job.status, job.paid_at) == ("paid", START)
    assert count(runtime, timers) == 1


def test_payment_matching_nothing_is_in_the_error_queue(client: TestClient, runtime: Runtime) -> None:
    paid = paid_by_stripe("evt_pi", metadata={}, receipt_email="nobody@example.com")
    assert post(client, paid).status_code == 202
    drain(runtime)
    with runtime.engine.connect() as conn:
        (item,) = list_errors(conn, runtime.settings.account_id)
    assert item.source == "stripe" and item.error is not None
    assert f"payment {PI_ID} matches no job or customer" in item.error


def test_a_late_payment_after_a_newer_cancellation_is_logged_not_applied(client: TestClient, runtime: Runtime) -> None:
    """Stripe's event (created 15:00) arrives after Housecall Pro cancelled the job at 15:10: it stays cancelled."""
    completed_hcp_job(client)
    deliver(client, job_envelope("job.canceled", "2026-11-02T15:10:00Z"), START)
    drain(runtime)
    assert post(client, paid_by_stripe("evt_pi")).status_code == 202
    drain(runtime)
    (job,) = rows(runtime, jobs)
    assert (job.status, job.status_at, job.paid_at) == ("cancelled", START + timedelta(minutes=10), None)
    (late,) = rows(runtime, activities, activities.c.kind == "job.paid")
    assert late.applied is False and "not applied" in late.summary and late.at == START
    assert count(runtime, timers) == 0


def test_refund_goes_on_the_timeline_and_the_job_stays_paid(client: TestClient, runtime: Runtime) -> None:
    completed_hcp_job(client)
    post(client, paid_by_stripe("evt_pi"))
    refund = paid_by_stripe("evt_re", "charge.refunded", 60)
    post(client, refund)
    drain(runtime)
    (job,) = rows(runtime, jobs)
    assert job.status == "paid"
    (refunded,) = rows(runtime, activities, activities.c.kind == "payment.refunded")
    assert refunded.summary == f"Refund issued ($10.99) ({PI_ID})"
    assert refunded.at == START + timedelta(seconds=60)


# --- property: any signed JSON ends stored and visible, never lost, never a 5xx -------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)
_BODIES = st.one_of(
    _JSON,
    st.fixed_dictionaries(
        {
            "id": st.text(min_size=1, max_size=12),
            "object": st.just("event"),
            "type": st.sampled_from(
                ["payment_intent.succeeded", "charge.succeeded", "invoice.paid", "charge.refunded"]
            ),
            "created": st.integers(min_value=0, max_value=2 * 10**9),
            "data": st.fixed_dictionaries({"object": st.dictionaries(st.text(max_size=8), _JSON, max_size=4)}),
        }
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_BODIES)
def test_any_signed_json_is_stored_and_ends_visible(client: TestClient, runtime: Runtime, value: object) -> None:
    response = post(client, encode(value))
    assert response.status_code in (200, 202), response.text
    drain(runtime)
    clock = runtime.clock
    assert isinstance(clock, SimulatedClock)
    stored, listed = assert_never_lost(runtime)
    assert listed == {f"inbox-{r.id}" for r in stored if r.status == "error"}


@HOSTILE_SETTINGS
@given(value=st.sampled_from(payloads(FIXTURES)).flatmap(hostile_variants))
def test_hostile_signed_bodies_are_never_a_5xx_and_settle(client: TestClient, runtime: Runtime, value: Any) -> None:
    """Real payloads with lone surrogates, NUL, 10^30, 5,000-digit integers, far-offset dates or deep nesting (values
    and keys): never a 5xx, and after the worker every row is applied, ignored or in the error queue."""
    response = post(client, hostile_json(value))
    assert response.status_code in (200, 202), response.text
    drain(runtime)
    assert_never_lost(runtime)
