"""ServiceTitan through POST /webhooks/servicetitan and the worker: refusals, redelivery, order, arbitrary bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from fieldrelay.api.app import create_app
from fieldrelay.runtime import Runtime
from fieldrelay.storage.ops.errors import list_errors
from fieldrelay.storage.tables import activities, customer_emails, customer_phones, customers, estimates, inbox, jobs
from tests.api.support import (
    HOSTILE_SETTINGS,
    assert_never_lost,
    drain,
    hostile_json,
    hostile_variants,
    json_values,
    payloads,
    post_webhook,
)
from tests.connectors.servicetitan.support import FIXTURES, encode, load, raw, signed
from tests.service.support import count

URL = "/webhooks/servicetitan"
MIRROR = (customers, customer_phones, customer_emails, jobs, estimates, activities)


def post(client: TestClient, body: dict[str, Any] | bytes, **kwargs: Any) -> tuple[int, Any]:
    """Sign and post a delivery; the status code and JSON reply."""
    return post_webhook(client, URL, *signed(body, **kwargs))


def rows(engine: Engine, table: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table).order_by(*table.primary_key.columns)).all())


def mirror(engine: Engine) -> dict[str, list[Any]]:
    """Every mirror row, for "nothing changed" comparisons."""
    return {t.name: rows(engine, t) for t in MIRROR}


def test_signed_fixture_is_accepted_and_applied_to_the_mirror(client: TestClient, runtime: Runtime) -> None:
    """A job with an embedded customer creates both; a later appointment attaches by the known job."""
    assert post(client, raw("job.completed.embedded_customer")) == (202, {"status": "accepted"})
    drain(runtime)
    (customer,) = rows(runtime.engine, customers)
    assert (customer.first_name, customer.last_name, customer.city, customer.country) == (
        "Maria",
        "Alvarez",
        "Austin",
        "US",
    )
    assert customer.lifecycle_stage == "customer"
    assert sorted(p.e164 for p in rows(runtime.engine, customer_phones)) == ["+15125550142", "+15125550187"]
    assert [e.email for e in rows(runtime.engine, customer_emails)] == ["maria.alvarez@example.com"]
    (job,) = rows(runtime.engine, jobs)
    assert (job.status, job.total_cents, job.customer_id) == ("completed", 68500, customer.id)
    assert job.status_at.isoformat() == "2026-03-04T16:31:21+00:00"
    assert job.description == "Water heater not heating - 50 gal gas"

    assert post(client, raw("job.scheduled"))[0] == 202  # older: logged, not applied
    drain(runtime)
    (job,) = rows(runtime.engine, jobs)
    assert job.status == "completed"
    with runtime.engine.connect() as conn:
        assert [r.status for r in conn.execute(select(inbox.c.status).order_by(inbox.c.id))] == ["done", "done"]


def test_estimate_without_embedded_customer_is_unattachable_in_the_error_queue(
    client: TestClient, runtime: Runtime
) -> None:
    """Documented limit: ServiceTitan estimates carry only customerId, so an unknown estimate needs a person."""
    assert post(client, raw("estimate.sold"))[0] == 202
    drain(runtime)
    with runtime.engine.connect() as conn:
        (item,) = list_errors(conn, runtime.settings.account_id)
    assert item.source == "servicetitan" and item.error == "estimate 51239002 names no customer and is not known yet"
    assert rows(runtime.engine, estimates) == []


def test_hold_and_unknown_events_are_acknowledged_and_ignored(client: TestClient, runtime: Runtime) -> None:
    assert post(client, raw("job.hold"))[0] == 202
    assert post(client, raw("unknown.event"))[0] == 202
    drain(runtime)
    with runtime.engine.connect() as conn:
        statuses = [tuple(r) for r in conn.execute(select(inbox.c.status, inbox.c.event_type).order_by(inbox.c.id))]
        assert list_errors(conn, runtime.settings.account_id) == []
    assert statuses == [("ignored", "job.updated"), ("ignored", "invoice.updated")]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b, h: (b, {k: v for k, v in h.items() if k != "ST-Signature"}), id="missing-header"),
        pytest.param(lambda b, h: (b.replace(b"685.0", b"68.5"), h), id="tampered-body"),
        pytest.param(lambda b, h: (b + b" ", h), id="body-changed-after-signing"),
    ],
)
def test_tampered_or_unsigned_delivery_is_401_and_nothing_stored(
    client: TestClient, runtime: Runtime, mutate: Any
) -> None:
    body, headers = signed(raw("job.completed"))
    body, headers = mutate(body, headers)
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 401
    assert count(runtime, inbox) == 0


def test_wrong_secret_is_401_and_nothing_stored(client: TestClient, runtime: Runtime) -> None:
    body, headers = signed(raw("job.completed"), secret="not-the-shops-key")
    response = client.post(URL, content=body, headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": "bad signature"})
    assert count(runtime, inbox) == 0


def test_wrong_encoding_is_401(client: TestClient, runtime: Runtime) -> None:
    """A hex digest where base64 is configured does not verify (the encoding is configuration)."""
    body, headers = signed(raw("job.completed"), encoding="hex")
    assert client.post(URL, content=body, headers=headers).status_code == 401
    assert count(runtime, inbox) == 0


def test_no_secret_configured_refuses_everything(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from fieldrelay.connectors.registry import inbound_connectors

    monkeypatch.delenv("FIELDRELAY_SERVICETITAN_SECRET")
    runtime.inbound = inbound_connectors(runtime.settings)
    body, headers = signed(raw("job.completed"))
    response = TestClient(create_app(runtime)).post(URL, content=body, headers=headers)
    assert (response.status_code, response.json()) == (401, {"error": "no secret configured"})
    assert count(runtime, inbox) == 0


@pytest.mark.parametrize("name", ["job.completed.embedded_customer", "job.completed"])
def test_redelivery_changes_nothing(client: TestClient, runtime: Runtime, name: str) -> None:
    """Same event again (hash key and event-id key): 200 duplicate, one row, the mirror untouched."""
    assert post(client, raw("job.completed.embedded_customer"))[0] == 202
    if name != "job.completed.embedded_customer":
        assert post(client, raw(name))[0] == 202
    drain(runtime)
    before = mirror(runtime.engine)
    stored = count(runtime, inbox)

    # Re-encoded with other whitespace: a redelivery is recognised by its identity, not its bytes.
    again = encode(load(name))
    assert again != raw(name)
    assert post(client, again) == (200, {"status": "duplicate"})
    drain(runtime)

    assert mirror(runtime.engine) == before
    assert count(runtime, inbox) == stored
    with runtime.engine.connect() as conn:
        deliveries = conn.execute(select(inbox.c.deliveries).where(inbox.c.event_type.isnot(None))).scalars().all()
    assert sorted(deliveries)[-1] == 2


def test_late_dispatched_after_completed_is_logged_not_applied(client: TestClient, runtime: Runtime) -> None:
    """Completed at 16:31, then the 14:41 "Dispatched" arrives: the job stays completed, the timeline says so."""
    assert post(client, raw("job.completed.embedded_customer"))[0] == 202
    drain(runtime)
    assert post(client, raw("appointment.dispatched"))[0] == 202
    drain(runtime)

    (job,) = rows(runtime.engine, jobs)
    assert job.status == "completed"
    assert job.status_at.isoformat() == "2026-03-04T16:31:21+00:00"
    with runtime.engine.connect() as conn:
        late = conn.execute(select(activities).where(activities.c.kind == "job.dispatched")).one()
    assert late.applied is False
    assert "not applied" in late.summary
    assert late.at.isoformat() == "2026-03-04T14:41:09+00:00"


def test_appointments_in_order_walk_the_lifecycle(client: TestClient, runtime: Runtime) -> None:
    """Known job (created with its customer), then dispatched, working, done: each step applied in turn."""
    first = load("job.completed.embedded_customer")
    first["entity"]["jobStatus"] = "Scheduled"
    first["createdOn"] = "2026-03-02T14:20:45Z"
    assert post(client, first)[0] == 202
    drain(runtime)
    for name, status in (
        ("appointment.dispatched", "dispatched"),
        ("appointment.working", "arrived"),
        ("appointment.done", "completed"),
    ):
        assert post(client, raw(name))[0] == 202
        drain(runtime)
        (job,) = rows(runtime.engine, jobs)
        assert job.status == status, name


_JSON = json_values(max_text=16, max_key=10, allow_infinity=False)
_CUSTOMER = st.fixed_dictionaries(
    {"id": st.integers(min_value=1, max_value=10**12), "name": st.text(max_size=20)},
    optional={
        "contacts": st.lists(
            st.fixed_dictionaries({"type": st.sampled_from(["Phone", "Email"]), "value": st.text(max_size=20)}),
            max_size=2,
        )
    },
)
_ENTITY = st.fixed_dictionaries(
    {"id": st.integers(min_value=1, max_value=10**12)},
    optional={
        "jobId": st.integers(min_value=1, max_value=10**12),
        "jobStatus": st.sampled_from(["Scheduled", "InProgress", "Hold", "Completed", "Canceled", "Odd"]),
        "status": st.sampled_from(["Scheduled", "Dispatched", "Working", "Done", "Canceled", "Sold", "Dismissed"]),
        "modifiedOn": st.datetimes(timezones=st.none()).map(lambda d: d.isoformat()),
        "total": st.floats(min_value=-1e6, max_value=1e6),
        "customer": _CUSTOMER,
        "start": st.just("2026-03-04T15:00:00Z"),
    },
)
_ENVELOPE = st.fixed_dictionaries(
    {
        "eventType": st.sampled_from(
            ["job.updated", "appointment.updated", "estimate.sent", "customer.created", "x.y"]
        ),
        "data": st.one_of(_ENTITY, _JSON),
    },
    optional={
        "eventId": st.text(max_size=12),
        "timestamp": st.one_of(st.text(max_size=12), st.just("2026-03-04T16:31:21Z")),
    },
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(_JSON, _ENVELOPE))
def test_arbitrary_signed_bodies_end_stored_errored_or_ignored_never_lost(
    client: TestClient, runtime: Runtime, data: object
) -> None:
    """Any signed JSON is acknowledged (never a 5xx) and, after the worker, is done, ignored or in the error queue."""
    status, _ = post(client, json.dumps(data).encode())
    assert status in (200, 202)
    drain(runtime)
    assert_never_lost(runtime)


@HOSTILE_SETTINGS
@given(value=st.sampled_from(payloads(FIXTURES)).flatmap(hostile_variants))
def test_hostile_signed_bodies_are_never_a_5xx_and_settle(client: TestClient, runtime: Runtime, value: Any) -> None:
    """Real payloads with lone surrogates, NUL, 10^30, 5,000-digit integers, far-offset dates or deep nesting (values
    and keys): never a 5xx, and after the worker every row is applied, ignored or in the error queue."""
    status, _ = post(client, hostile_json(value))
    assert status in (200, 202)
    drain(runtime)
    assert_never_lost(runtime)
