"""POST /webhooks/{connector}: verify on the raw bytes, store in the inbox, acknowledge fast."""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from fieldrelay.engine.intake import Intake, receive
from fieldrelay.engine.metrics import WEBHOOKS
from fieldrelay.runtime import Runtime

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
    try:
        body = await _read_limited(request, runtime.settings.max_webhook_bytes)
    except _TooLarge:
        return _refuse(connector, 413, f"body larger than {runtime.settings.max_webhook_bytes} bytes")
    headers = {k.lower(): v for k, v in request.headers.items()}
    reason = inbound.verify(headers, body, runtime.clock.now())
    if reason is not None:
        return _refuse(connector, 401, reason)
    # One short INSERT, run on the event loop. bench/ingest.py shows this stalls every connection while the
    # worker holds SQLite's write lock (ack p99 ~0.9 s in a burst); group-committing intake is the planned fix.
    outcome = receive(runtime.engine, inbound, headers, body, runtime.clock.now(), runtime.settings.account_id)
    WEBHOOKS.labels(connector, outcome.value).inc()
    if outcome is Intake.MALFORMED:
        log.warning("webhook.malformed_stored", connector=connector)
    return JSONResponse({"status": outcome.value}, status_code=_STATUS[outcome])
