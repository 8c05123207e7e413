"""Security headers on every response, /readyz proving a write, a body that never arrives, refusals summed up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from fieldrelay.api.hardening import APP_POLICY, BodyDeadline
from fieldrelay.api.refusals import RefusalLog
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import heartbeats
from tests.api.support import AUTH


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/api/errors", "/signin", "/static/app.css", "/nowhere"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    response = client.get(path, headers=AUTH)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["content-security-policy"] == APP_POLICY
    assert "frame-ancestors 'none'" in APP_POLICY and "unsafe" not in APP_POLICY
    assert "server" not in response.headers or "uvicorn" not in response.headers["server"]


def test_refused_webhooks_carry_them_too(client: TestClient) -> None:
    response = client.post("/webhooks/housecallpro", content=b"{}")
    assert response.status_code == 401
    assert response.headers["content-security-policy"] == APP_POLICY


def test_readyz_commits_a_heartbeat(client: TestClient, runtime: Runtime) -> None:
    first = client.get("/readyz")
    assert first.status_code == 200 and first.json()["db"] == "ok"
    with runtime.engine.connect() as conn:
        (beat,) = conn.execute(select(heartbeats)).all()
    assert beat.name == "readyz" and beat.beat_at == runtime.clock.now()


def test_readyz_is_503_when_the_database_refuses_writes(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that answers reads but cannot commit (a full disk, a read-only replica) is not ready."""
    from sqlalchemy.exc import OperationalError

    from fieldrelay.storage import queries

    def disk_full(*_args: Any) -> None:
        raise OperationalError("INSERT INTO heartbeats", {}, Exception("database or disk is full"))

    monkeypatch.setattr(queries, "beat", disk_full)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["db"] == "not writable"


def test_a_body_that_does_not_arrive_in_time_reads_as_a_disconnect() -> None:
    """BodyDeadline: the first chunk arrives, the rest never does; the app sees http.disconnect at the deadline."""
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        await JSONResponse({"seen": seen}, status_code=408)(scope, receive, send)

    chunks: list[Message] = [{"type": "http.request", "body": b"{", "more_body": True}]

    async def slow_client() -> Message:
        if chunks:
            return chunks.pop()
        await asyncio.sleep(3600)
        raise AssertionError("never")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/webhooks/x", "headers": []}
    asyncio.run(asyncio.wait_for(BodyDeadline(app, seconds=0.05)(scope, slow_client, send), timeout=10))
    assert seen == ["http.request", "http.disconnect"]
    assert sent[0]["status"] == 408


def test_a_client_leaving_mid_body_gets_a_quiet_408(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette raises ClientDisconnect when the client goes; the route answers instead of crashing."""
    from starlette.requests import ClientDisconnect, Request

    async def gone(_self: Request) -> Any:
        raise ClientDisconnect
        yield b""  # an async generator, as Request.stream is

    monkeypatch.setattr(Request, "stream", gone)
    response = client.post("/webhooks/housecallpro", content=b"{}")
    assert response.status_code == 408


def test_refusals_are_summed_up_once_per_interval(capsys: pytest.CaptureFixture[str]) -> None:
    now = [0.0]
    refusals = RefusalLog(interval_seconds=60, clock=lambda: now[0])
    for _ in range(500):
        refusals.refused("stripe", 401, "no Stripe-Signature header")
    refusals.refused("unknown", 404, "unknown connector")
    now[0] = 61.0
    refusals.refused("stripe", 401, "no Stripe-Signature header")
    lines = [line for line in capsys.readouterr().out.splitlines() if "webhook.refused" in line]
    assert len(lines) == 2  # the first refusal at once, then one line for the next 501
    assert "501" in lines[1] and "'stripe 401': 500" in lines[1] and "'unknown 404': 1" in lines[1]
