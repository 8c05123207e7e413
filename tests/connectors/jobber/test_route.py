"""Jobber through POST /webhooks/jobber and the worker (fake GraphQL API): lifecycle, refusals, retries, order."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from fieldrelay.api.app import create_app
from fieldrelay.connectors.jobber.inbound import TOPICS, JobberInbound
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.secrets import connector_secret
from fieldrelay.runtime import Runtime
from fieldrelay.storage.ops.errors import list_errors
from fieldrelay.storage.tables import (
    activities,
    customer_emails,
    customer_phones,
    customers,
    estimates,
    inbox,
    jobs,
    messages,
    timers,
)
from tests.api.support import (
    HOSTILE_SETTINGS,
    assert_never_lost,
    drain,
    hostile_json,
    hostile_variants,
    json_values,
    post_webhook,
)
from tests.connectors.jobber.support import FIXTURES, URL, VERSION, FakeJobber, fixture, signed, webhook

HOOK = "/webhooks/jobber"
JOB_ID = "Z2lkOi8vSm9iYmVyL0pvYi80MTIwMDk4MQ=="
VISIT_ID = "Z2lkOi8vSm9iYmVyL1Zpc2l0Lzk1NTAwMjE3"
MIRROR = (customers, customer_phones, customer_emails, jobs, estimates, activities, timers, messages)


@pytest.fixture
def fake() -> FakeJobber:
    """The fake GraphQL API."""
    return FakeJobber()


@pytest.fixture
def client(client: TestClient, runtime: Runtime, fake: FakeJobber) -> TestClient:
    """The app with the runtime's Jobber connector talking to the fake API (token from the environment)."""
    http = httpx.Client(transport=httpx.MockTransport(fake))
    runtime.inbound["jobber"] = JobberInbound(connector_secret("jobber"), http, URL, VERSION)
    return client


def post(client: TestClient, body: bytes, **kwargs: Any) -> tuple[int, Any]:
    return post_webhook(client, HOOK, *signed(body, **kwargs))


def rows(engine: Engine, table: Any, *where: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table).where(*where).order_by(*table.primary_key.columns)).all())


def mirror(engine: Engine) -> dict[str, list[Any]]:
    return {t.name: rows(engine, t) for t in MIRROR}


def inbox_rows(runtime: Runtime) -> list[Any]:
    return rows(runtime.engine, inbox)


def sim(runtime: Runtime) -> SimulatedClock:
    assert isinstance(runtime.clock, SimulatedClock)
    return runtime.clock


def test_registry_builds_jobber_with_the_configured_client(runtime: Runtime) -> None:
    from fieldrelay.connectors.registry import inbound_connectors

    built = inbound_connectors(runtime.settings)["jobber"]
    assert isinstance(built, JobberInbound)
    assert built._api._client.timeout == httpx.Timeout(runtime.settings.connectors.jobber.request_timeout_seconds)


def test_lifecycle_from_webhooks_to_paid_job_and_review_request(
    client: TestClient, runtime: Runtime, fake: FakeJobber
) -> None:
    """Each topic is acknowledged without a fetch, then fetched by the worker and applied in order."""
    steps = [
        ("job_create", "booked"),
        ("visit_update", "arrived"),
        ("visit_complete", "completed"),
        ("invoice_create", "invoiced"),
        ("payment_create", "paid"),
    ]
    fake.add(VISIT_ID, fixture("visit_update")["response"], fixture("visit_complete")["response"])
    for name in ("job_create", "invoice_create", "payment_create"):
        fake.add_fixture(name)
    for name, status in steps:
        before = len(fake.requests)
        assert post(client, webhook(name)) == (202, {"status": "accepted"})
        assert len(fake.requests) == before, "intake must not call Jobber"
        drain(runtime)
        assert len(fake.requests) == before + 1
        (job,) = rows(runtime.engine, jobs)
        assert job.status == status, name

    (customer,) = rows(runtime.engine, customers)
    assert (customer.first_name, customer.last_name, customer.street, customer.country) == (
        "Maria",
        "Alvarez",
        "4821 Bluebonnet Ln",
        "US",
    )
    assert customer.lifecycle_stage == "customer"
    assert sorted(p.e164 for p in rows(runtime.engine, customer_phones)) == ["+15125550142", "+15125550187"]
    (job,) = rows(runtime.engine, jobs)
    assert (job.total_cents, job.balance_cents, job.technicians) == (68500, 0, ["Ray Ortiz"])
    assert job.paid_at.isoformat() == "2026-03-04T16:40:12+00:00"
    (message,) = rows(runtime.engine, messages)
    assert message.purpose == "review_request"
    assert [r.status for r in inbox_rows(runtime)] == ["done"] * 5


def test_request_then_quote_create_a_lead_and_an_estimate(
    client: TestClient, runtime: Runtime, fake: FakeJobber
) -> None:
    for name in ("request_create", "quote_update"):
        fake.add_fixture(name)
        assert post(client, webhook(name))[0] == 202
    drain(runtime)
    (customer,) = rows(runtime.engine, customers)
    assert customer.lifecycle_stage == "prospect"
    (estimate,) = rows(runtime.engine, estimates)
    assert (estimate.status, estimate.number, estimate.total_cents) == ("accepted", "318", 290110)
    kinds = [a.kind for a in rows(runtime.engine, activities)]
    assert "lead.received" in kinds and "estimate.accepted" in kinds


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b, h: (b, {k: v for k, v in h.items() if k != "X-Jobber-Hmac-SHA256"}), id="missing"),
        pytest.param(lambda b, h: (b.replace(b"JOB_CREATE", b"JOB_DESTROY"), h), id="tampered-body"),
        pytest.param(lambda b, h: (b + b"\n", h), id="body-changed-after-signing"),
        pytest.param(lambda b, h: (b, {**h, "X-Jobber-Hmac-SHA256": "not base64"}), id="garbage-header"),
    ],
)
def test_tampered_or_unsigned_delivery_is_401_and_nothing_stored(
    client: TestClient, runtime: Runtime, fake: FakeJobber, mutate: Any
) -> None:
    body, headers = signed(webhook("job_create"))
    body, headers = mutate(body, headers)
    assert client.post(HOOK, content=body, headers=headers).status_code == 401
    assert inbox_rows(runtime) == []
    assert fake.requests == []


def test_wrong_secret_is_401_and_nothing_stored(client: TestClient, runtime: Runtime) -> None:
    assert post(client, webhook("job_create"), secret="other-apps-secret") == (401, {"error": "bad signature"})
    assert inbox_rows(runtime) == []


def test_no_secret_configured_refuses_everything(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from fieldrelay.connectors.registry import inbound_connectors

    monkeypatch.delenv("FIELDRELAY_JOBBER_SECRET")
    runtime.inbound = inbound_connectors(runtime.settings)
    body, headers = signed(webhook("job_create"))
    response = TestClient(create_app(runtime)).post(HOOK, content=body, headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": "no secret configured"})
    assert inbox_rows(runtime) == []


def test_redelivery_changes_nothing_and_fetches_nothing(client: TestClient, runtime: Runtime, fake: FakeJobber) -> None:
    fake.add_fixture("job_create")
    fake.add_fixture("visit_complete")
    assert post(client, webhook("job_create"))[0] == 202
    assert post(client, webhook("visit_complete"))[0] == 202
    drain(runtime)
    before, fetched = mirror(runtime.engine), len(fake.requests)

    again = json.dumps(json.loads(webhook("visit_complete")), indent=1).encode()  # other bytes, same event
    assert post(client, again) == (200, {"status": "duplicate"})
    drain(runtime)

    assert mirror(runtime.engine) == before
    assert len(fake.requests) == fetched
    assert sorted(r.deliveries for r in inbox_rows(runtime)) == [1, 2]


def test_late_arrival_after_completed_is_logged_not_applied(
    client: TestClient, runtime: Runtime, fake: FakeJobber
) -> None:
    """VISIT_COMPLETE (16:31) applied, then the 15:07 VISIT_UPDATE arrives late: the job stays completed."""
    fake.add_fixture("job_create")
    fake.add(VISIT_ID, fixture("visit_complete")["response"], fixture("visit_update")["response"])
    assert post(client, webhook("job_create"))[0] == 202
    assert post(client, webhook("visit_complete"))[0] == 202
    drain(runtime)
    assert post(client, webhook("visit_update"))[0] == 202
    drain(runtime)

    (job,) = rows(runtime.engine, jobs)
    assert job.status == "completed"
    assert job.status_at.isoformat() == "2026-03-04T16:31:18+00:00"
    (late,) = rows(runtime.engine, activities, activities.c.kind == "job.arrived")
    assert late.applied is False
    assert "not applied" in late.summary
    assert late.at.isoformat() == "2026-03-04T15:07:52+00:00"


def throttled(requested: int, available: int, rate: int) -> dict[str, Any]:
    cost = {"maximumAvailable": 10000, "currentlyAvailable": available, "restoreRate": rate}
    return {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": 0, "throttleStatus": cost}},
    }


def test_throttled_fetch_waits_for_the_restore_then_applies(
    client: TestClient, runtime: Runtime, fake: FakeJobber
) -> None:
    """9000 points wanted, none left, 50 restored per second: not retried before 180 s, then applied."""
    fake.add(JOB_ID, throttled(9000, 0, 50), fixture("job_create")["response"])
    assert post(client, webhook("job_create"))[0] == 202
    now = runtime.clock.now()
    drain(runtime)
    (row,) = inbox_rows(runtime)
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error.startswith("temporary: Jobber throttled: query costs 9000 points")
    assert row.next_attempt_at >= now + timedelta(seconds=180)
    assert rows(runtime.engine, jobs) == []

    sim(runtime).advance(181)
    drain(runtime)
    assert [r.status for r in inbox_rows(runtime)] == ["done"]
    (job,) = rows(runtime.engine, jobs)
    assert job.status == "booked"


def test_auth_failure_retries_then_lands_dead_in_the_error_queue(
    client: TestClient, runtime: Runtime, fake: FakeJobber
) -> None:
    fake.add(JOB_ID, lambda _r: httpx.Response(401, json={"error": "invalid_request"}))
    assert post(client, webhook("job_create"))[0] == 202
    for _ in range(runtime.settings.retry.max_attempts + 1):
        drain(runtime)
        sim(runtime).advance(runtime.settings.retry.max_seconds * 2)
    (row,) = inbox_rows(runtime)
    assert row.status == "dead" and row.attempts == runtime.settings.retry.max_attempts
    with runtime.engine.connect() as conn:
        (item,) = list_errors(conn, runtime.settings.account_id)
    assert item.error is not None and "Jobber refused the access token (HTTP 401)" in item.error


def test_missing_access_token_is_retried_not_lost(
    client: TestClient, runtime: Runtime, fake: FakeJobber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIELDRELAY_JOBBER_ACCESS_TOKEN")
    assert post(client, webhook("job_create"))[0] == 202
    drain(runtime)
    (row,) = inbox_rows(runtime)
    assert (row.status, row.last_error) == ("pending", "temporary: FIELDRELAY_JOBBER_ACCESS_TOKEN is not set")
    assert fake.requests == []


def test_deleted_item_and_unused_topic_are_ignored(client: TestClient, runtime: Runtime, fake: FakeJobber) -> None:
    assert post(client, webhook("job_create"))[0] == 202  # the fake knows no such job: deleted meanwhile
    assert post(client, webhook("property_update"))[0] == 202
    drain(runtime)
    assert [(r.status, r.last_error) for r in inbox_rows(runtime)] == [
        ("ignored", f"job {JOB_ID} no longer exists in Jobber"),
        ("ignored", "topic not used by fieldrelay"),
    ]
    assert len(fake.requests) == 1


def test_signed_but_unreadable_body_is_stored_in_the_error_queue(client: TestClient, runtime: Runtime) -> None:
    assert post(client, b"topic=CLIENT_CREATE&itemId=MQ%3D%3D") == (202, {"status": "malformed"})
    with runtime.engine.connect() as conn:
        (item,) = list_errors(conn, runtime.settings.account_id)
    assert item.source == "jobber" and item.error is not None and item.error.startswith("body is not JSON")


def test_an_item_id_holding_a_nul_character_ends_ignored_on_every_database(
    client: TestClient, runtime: Runtime
) -> None:
    """Found by the property test below: PostgreSQL refuses NUL in text, so quoting the id in the row's outcome
    failed and the row was retried for ever instead of ending ignored. The body's text is made storable when it is
    read (service/payloads.py), so the NUL is dropped."""
    body = {
        "data": {"webHookEvent": {"topic": "PAYMENT_CREATE", "itemId": "a\x00b", "occurredAt": "2026-03-04T10:31:18Z"}}
    }
    assert post(client, json.dumps(body).encode())[0] == 202
    drain(runtime)
    ((status, error),) = [(r.status, r.last_error) for r in inbox_rows(runtime)]
    assert (status, error) == ("ignored", "paymentRecord ab no longer exists in Jobber")


_JSON = json_values(max_text=16, max_key=10, allow_infinity=False)
_HOOKS = st.builds(
    lambda topic, item, at: {"data": {"webHookEvent": {"topic": topic, "itemId": item, "occurredAt": at}}},
    st.one_of(st.sampled_from(sorted(TOPICS)), st.text(max_size=12)),
    st.one_of(st.text(min_size=1, max_size=16), _JSON),
    st.one_of(st.just("2026-03-04T10:31:18-06:00"), st.text(max_size=20)),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(_JSON, _HOOKS))
def test_arbitrary_signed_bodies_end_stored_errored_or_ignored_never_lost(
    client: TestClient, runtime: Runtime, data: object
) -> None:
    """Any signed JSON is acknowledged (never a 5xx) and, after the worker, is done, ignored or in the error queue."""
    status, _ = post(client, json.dumps(data).encode())
    assert status in (200, 202)
    drain(runtime)
    assert_never_lost(runtime)


_FIXTURES = [fixture(path.stem) for path in sorted(FIXTURES.glob("*.json"))]
_examples = iter(range(10**9))  # a new item per example: the same webhook again would only be a duplicate


@HOSTILE_SETTINGS
@given(
    data=st.sampled_from(_FIXTURES).flatmap(
        lambda f: (
            st.tuples(st.just(f["webhook"]), hostile_variants(f["response"]))
            | st.tuples(hostile_variants(f["webhook"]), st.just(f["response"]))
        )
    )
)
def test_hostile_webhooks_and_answers_are_never_a_5xx_and_settle(
    client: TestClient, runtime: Runtime, fake: FakeJobber, data: tuple[Any, Any]
) -> None:
    """Real webhooks and GraphQL answers with lone surrogates, NUL, 10^30, 5,000-digit integers, far-offset dates or
    deep nesting: never a 5xx, and after the worker every row is applied, ignored or in the error queue."""
    hook, answer = data
    item = f"hostile-{next(_examples)}"
    event = hook.get("data", {}).get("webHookEvent") if isinstance(hook.get("data"), dict) else None
    if isinstance(event, dict):
        event["itemId"] = item
    fake.add(item, lambda _request: httpx.Response(200, content=hostile_json(answer)))
    status, _ = post(client, hostile_json(hook))
    assert status in (200, 202)
    drain(runtime)
    assert_never_lost(runtime)
