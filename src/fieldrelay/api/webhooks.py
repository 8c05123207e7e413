"""POST /webhooks/{connector}: verify on the raw bytes, store in the inbox, acknowledge fast.

A plain Starlette route rather than a FastAPI one: FastAPI's parameter and dependency resolution cost about a
third of the CPU of each delivery (profiled with bench/ingest.py), and this route takes nothing but raw bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fieldrelay.api.ratelimit import SlidingWindowLimiter
from fieldrelay.api.refusals import RefusalLog
from fieldrelay.api.state import runtime_of
from fieldrelay.engine.intake import Intake, prepare
from fieldrelay.engine.intake_writer import IntakeWriter
from fieldrelay.engine.metrics import WEBHOOKS
from fieldrelay.service.ports import WebhookRequest

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


def _refuse(request: Request, connector: str, code: int, reason: str) -> JSONResponse:
    WEBHOOKS.labels(connector, "refused").inc()
    refusals: RefusalLog = request.app.state.refusals
    refusals.refused(connector, code, reason)
    return JSONResponse({"error": reason}, status_code=code)


async def receive_webhook(request: Request) -> JSONResponse:
    """Accept one signed vendor delivery; 401 when unsigned or stale, 404 for an unknown connector."""
    connector: str = request.path_params["connector"]
    runtime = runtime_of(request)
    inbound = runtime.inbound.get(connector)
    if inbound is None:
        return _refuse(request, "unknown", 404, "unknown connector")
    client_ip = request.client.host if request.client else None
    if inbound.rate_limit_per_minute is not None:
        limiters: dict[str, SlidingWindowLimiter] = request.app.state.limiters
        limiter = limiters.setdefault(connector, SlidingWindowLimiter(inbound.rate_limit_per_minute))
        if not limiter.allow(client_ip or "unknown", time.monotonic()):
            return _refuse(request, connector, 429, "too many requests from this address; try again in a minute")
    try:
        body = await _read_limited(request, runtime.settings.max_webhook_bytes)
    except _TooLarge:
        return _refuse(request, connector, 413, f"body larger than {runtime.settings.max_webhook_bytes} bytes")
    except ClientDisconnect:
        # The client left (or its body did not arrive in time, api/hardening.py) mid-body: nothing to store.
        WEBHOOKS.labels(connector, "incomplete").inc()
        return JSONResponse({"error": "the request body did not arrive in time"}, status_code=408)
    headers = {k.lower(): v for k, v in request.headers.items()}
    delivery = WebhookRequest(
        headers=headers,
        body=body,
        url=public_url(request, runtime.settings.public_base_url),
        client_ip=client_ip,
    )
    reason = inbound.verify(delivery, runtime.clock.now())
    if reason is not None:
        return _refuse(request, connector, 401, reason)
    now = runtime.clock.now()
    rows = prepare(inbound, headers, body, now, runtime.settings.account_id)
    writer: IntakeWriter = request.app.state.intake
    request.app.state.intake_dispatch.loop = asyncio.get_running_loop()
    # Acknowledged only once the group commit that holds this delivery has returned.
    stored: asyncio.Future[Intake | Exception] = asyncio.get_running_loop().create_future()
    writer.submit(rows, _resolver(stored))
    outcome = await stored
    if isinstance(outcome, Exception):
        return JSONResponse({"error": "could not store the delivery; please retry"}, status_code=503)
    WEBHOOKS.labels(connector, outcome.value).inc()
    if outcome is Intake.MALFORMED:
        log.warning("webhook.malformed_stored", connector=connector)
    return JSONResponse({"status": outcome.value}, status_code=_STATUS[outcome])


class LoopDispatch:
    """Runs the intake writer's completions on the event loop serving the webhooks (set by each request)."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, callback: Callable[[], None]) -> None:
        """Schedule ``callback`` on the loop, from the writer thread."""
        if self.loop is None:
            raise RuntimeError("no event loop has submitted a delivery")
        self.loop.call_soon_threadsafe(callback)


def _resolver(future: asyncio.Future[Intake | Exception]) -> Callable[[Intake | Exception], None]:
    def resolve(outcome: Intake | Exception) -> None:
        if not future.done():  # the client may have gone away and the request been cancelled
            future.set_result(outcome)

    return resolve


route = Route("/webhooks/{connector}", receive_webhook, methods=["POST"], name="receive_webhook")
