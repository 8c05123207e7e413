"""POST /webhooks/{connector}: signature on raw bytes, exactly-once intake, bad input kept or refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from fieldrelay.api.app import create_app
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.storage.ops.errors import list_errors
from fieldrelay.storage.tables import inbox
from tests.api.support import HOSTILE_SETTINGS, assert_never_lost, drain, hostile_json, hostile_variants, payloads
from tests.conftest import START
from tests.helpers import job_envelope, signed
from tests.service.support import count


def test_signed_delivery_is_stored_once_and_redelivery_acknowledged(client: TestClient, runtime: Runtime) -> None:
    """A first delivery is 202; the same event again is 200 and counted, not stored twice."""
    body, headers = signed(job_envelope("job.completed", "2026-11-02T14:59:00Z"), START)
    first = client.post("/webhooks/housecallpro", content=body, headers=headers)
    again_body, again_headers = signed(job_envelope("job.completed", "2026-11-02T14:59:00Z"), START)
    second = client.post("/webhooks/housecallpro", content=again_body, headers=again_headers)
    assert (first.status_code, first.json()) == (202, {"status": "accepted"})
    assert (second.status_code, second.json()) == (200, {"status": "duplicate"})
    with runtime.engine.connect() as conn:
        row = conn.execute(select(inbox.c.deliveries, inbox.c.status, inbox.c.event_type)).one()
    assert tuple(row) == (2, "pending", "job.completed")


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda b, h: (b, {k: v for k, v in h.items() if k != "Api-Signature"}), id="no-signature"),
        pytest.param(lambda b, h: (b, {**h, "Api-Signature": "0" * 64}), id="wrong-signature"),
        pytest.param(lambda b, h: (b + b" ", h), id="body-changed-after-signing"),
        pytest.param(lambda b, h: (b, {k: v for k, v in h.items() if k != "Api-Timestamp"}), id="no-timestamp"),
    ],
)
def test_unsigned_or_tampered_delivery_is_refused_and_nothing_stored(
    client: TestClient, runtime: Runtime, mutate: Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]
) -> None:
    """401 and an empty inbox."""
    body, headers = signed(job_envelope("job.paid", "2026-11-02T14:59:00Z"), START)
    body, headers = mutate(body, headers)
    response = client.post("/webhooks/housecallpro", content=body, headers=headers)
    assert response.status_code == 401
    assert count(runtime, inbox) == 0


def test_stale_timestamp_is_refused(client: TestClient, runtime: Runtime) -> None:
    """A correctly signed delivery older than five minutes is a replay: 401, nothing stored."""
    body, headers = signed(job_envelope("job.paid", "2026-11-02T14:00:00Z"), START - timedelta(minutes=6))
    response = client.post("/webhooks/housecallpro", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "timestamp outside the allowed window"}
    assert count(runtime, inbox) == 0


def test_unknown_connector_is_404_and_nothing_stored(client: TestClient, runtime: Runtime) -> None:
    """Only registered connectors have an endpoint."""
    body, headers = signed(job_envelope("job.paid", "2026-11-02T14:59:00Z"), START)
    response = client.post("/webhooks/acme", content=body, headers=headers)
    assert response.status_code == 404
    assert count(runtime, inbox) == 0


def test_connector_without_secret_refuses_everything(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    """Fail closed: with FIELDRELAY_HOUSECALLPRO_SECRET unset even a well-signed delivery is refused."""
    from fieldrelay.connectors.registry import inbound_connectors

    monkeypatch.delenv("FIELDRELAY_HOUSECALLPRO_SECRET")
    runtime.inbound = inbound_connectors(runtime.settings)
    client = TestClient(create_app(runtime))
    body, headers = signed(job_envelope("job.paid", "2026-11-02T14:59:00Z"), START)
    response = client.post("/webhooks/housecallpro", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "no secret configured"}
    assert count(runtime, inbox) == 0


def test_body_over_limit_is_413(client: TestClient, runtime: Runtime) -> None:
    """More than 1 MB is refused before it is read in full."""
    body, headers = signed(b"{" + b" " * 1_000_001 + b"}", START)
    response = client.post("/webhooks/housecallpro", content=body, headers=headers)
    assert response.status_code == 413
    assert count(runtime, inbox) == 0


def test_signed_but_malformed_body_is_stored_and_shown_in_error_queue(client: TestClient, runtime: Runtime) -> None:
    """Correct signature, unreadable body: 202, kept raw, listed with the parse error for a person to fix."""
    body, headers = signed(b'{"event": "job.paid", "job": ', START)
    response = client.post("/webhooks/housecallpro", content=body, headers=headers)
    assert response.status_code == 202
    assert response.json() == {"status": "malformed"}
    with runtime.engine.connect() as conn:
        stored = conn.execute(select(inbox.c.body, inbox.c.status)).one()
        queue = list_errors(conn, runtime.settings.account_id)
    assert stored.body == body and stored.status == "error"
    assert [item.kind for item in queue] == ["inbox"]
    assert queue[0].error is not None and "not JSON" in queue[0].error


def test_signed_body_with_unexpected_shape_reaches_error_queue_after_processing(
    client: TestClient, runtime: Runtime
) -> None:
    """Valid JSON of the wrong shape is accepted, then parked in the error queue by the worker with the reason."""
    body, headers = signed(json.dumps({"event": "job.paid", "event_occurred_at": "yesterday"}).encode(), START)
    assert client.post("/webhooks/housecallpro", content=body, headers=headers).status_code == 202
    drain(runtime)
    with runtime.engine.connect() as conn:
        queue = list_errors(conn, runtime.settings.account_id)
    assert len(queue) == 1 and queue[0].error is not None and "event_occurred_at" in queue[0].error


def test_unknown_event_type_is_stored_acknowledged_and_ignored(client: TestClient, runtime: Runtime) -> None:
    """An event fieldrelay does not use is kept and marked ignored, not put in the error queue."""
    envelope = {"event": "pro.created", "event_occurred_at": "2026-11-02T14:59:00Z", "pro": {"id": "pro_9"}}
    body, headers = signed(envelope, START)
    assert client.post("/webhooks/housecallpro", content=body, headers=headers).status_code == 202
    drain(runtime)
    with runtime.engine.connect() as conn:
        row = conn.execute(select(inbox.c.status, inbox.c.event_type)).one()
        assert list_errors(conn, runtime.settings.account_id) == []
    assert tuple(row) == ("ignored", "pro.created")


def test_simulated_clock_route_exists_only_on_a_simulated_clock(runtime: Runtime, clock: SimulatedClock) -> None:
    """Without --clock simulated the route is absent (404)."""
    from fieldrelay.engine.clock import RealClock

    auth = {"Authorization": "Bearer test-api-token"}
    simulated = TestClient(create_app(runtime)).post("/api/clock/advance", json={"seconds": 60}, headers=auth)
    assert simulated.status_code == 200 and clock.now() == START + timedelta(seconds=60)
    runtime.clock = RealClock()
    real = TestClient(create_app(runtime)).post("/api/clock/advance", json={"seconds": 60}, headers=auth)
    assert real.status_code == 404


_HCP_PAYLOADS = payloads(Path(__file__).parents[1] / "connectors" / "housecallpro" / "fixtures")


@HOSTILE_SETTINGS
@given(value=st.sampled_from(_HCP_PAYLOADS).flatmap(hostile_variants))
def test_hostile_signed_bodies_are_never_a_5xx_and_settle(client: TestClient, runtime: Runtime, value: Any) -> None:
    """Real payloads with lone surrogates (ids and event names too), NUL, 10^30, 5,000-digit integers, far-offset
    dates or deep nesting: acknowledged, then applied, ignored or in the error queue, never retried for ever."""
    body, headers = signed(hostile_json(value), runtime.clock.now())
    response = client.post("/webhooks/housecallpro", content=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    drain(runtime)
    assert_never_lost(runtime)
