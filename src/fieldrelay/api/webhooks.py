"""POST /webhooks/{connector}: verify on the raw bytes, store in the inbox, acknowledge fast."""

from __future__ import annotations

import time

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from fieldrelay.api.ratelimit import SlidingWindowLimiter
from fieldrelay.engine.intake import Intake, receive
from fieldrelay.engine.metrics import WEBHOOKS
from fieldrelay.runtime import Runtime
from fieldrelay.service.ports import WebhookRequest

router = APIRouter()
log = structlog.get_logger("fieldrelay.webhooks")

_STATUS = {Intake.ACCEPTED: 202, Intake.MALFORMED: 202, Intake.DUPLICATE: 200}


class _TooLarge(Exception):
    pass


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def public_url(request: Request, base_url: str | None) -> str:
    """The URL the vendor posted to: the configured external base URL behind a proxy, else what the server saw."""
    if not base_url:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return base_url.rstrip("/") + request.url.path + query


def _refuse(connector: str, code: int, reason: str) -> JSONResponse:
    WEBHOOKS.labels(connector, "refused").inc()
    log.warning("webhook.refused", connector=connector, status=code, reason=reason)
    return JSONResponse({"error": reason}, status_code=code)


@router.post("/webhooks/{connector}", include_in_schema=True, tags=["webhooks"])
async def receive_webhook(connector: str, request: Request) -> JSONResponse:
    """Accept one signed vendor delivery; 401 when unsigned or stale, 404 for an unknown connector."""
    runtime: Runtime = request.app.state.runtime
    inbound = runtime.inbound.get(connector)
    if inbound is None:
        return _refuse("unknown", 404, f"unknown connector {connector!r}")
    client_ip = request.client.host if request.client else None
    if inbound.rate_limit_per_minute is not None:
        limiters: dict[str, SlidingWindowLimiter] = request.app.state.limiters
        limiter = limiters.setdefault(connector, SlidingWindowLimiter(inbound.rate_limit_per_minute))
        if not limiter.allow(client_ip or "unknown", time.monotonic()):
            return _refuse(connector, 429, "too many requests from this address; try again in a minute")
    try:
        body = await _read_limited(request, runtime.settings.max_webhook_bytes)
    except _TooLarge:
        return _refuse(connector, 413, f"body larger than {runtime.settings.max_webhook_bytes} bytes")
    headers = {k.lower(): v for k, v in request.headers.items()}
    delivery = WebhookRequest(
        headers=headers,
        body=body,
        url=public_url(request, runtime.settings.public_base_url),
        client_ip=client_ip,
    )
    reason = inbound.verify(delivery, runtime.clock.now())
    if reason is not None:
        return _refuse(connector, 401, reason)
    # One short INSERT, run on the event loop. bench/ingest.py shows this stalls every connection while the
    # worker holds SQLite's write lock (ack p99 ~0.9 s in a burst); group-committing intake is the planned fix.
    outcome = receive(runtime.engine, inbound, headers, body, runtime.clock.now(), runtime.settings.account_id)
    WEBHOOKS.labels(connector, outcome.value).inc()
    if outcome is Intake.MALFORMED:
        log.warning("webhook.malformed_stored", connector=connector)
    return JSONResponse({"status": outcome.value}, status_code=_STATUS[outcome])
