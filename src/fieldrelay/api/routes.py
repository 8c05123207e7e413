"""JSON API: customers, timelines, messages, the error queue, health and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from fieldrelay.api.auth import require_token
from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.runtime import Runtime
from fieldrelay.storage import errors, queries

router = APIRouter()


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("/api/customers", tags=["customers"])
def get_customers(
    request: Request,
    account: str = Depends(require_token),
    phone: str | None = Query(None, description="any format; matched as E.164"),
    email: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """Customers by phone or email, or the most recently changed."""
    runtime = _runtime(request)
    e164 = normalize_phone(phone, runtime.settings.default_phone_region) if phone is not None else None
    if phone is not None and e164 is None:
        raise HTTPException(422, f"{phone!r} is not a phone number")
    normalized_email = normalize_email(email) if email is not None else None
    if email is not None and normalized_email is None:
        raise HTTPException(422, f"{email!r} is not an email address")
    with runtime.engine.connect() as conn:
        items = queries.find_customers(conn, account, phone=e164, email=normalized_email, limit=limit)
    return {"items": items}


@router.get("/api/customers/{customer_id}/timeline", tags=["customers"])
def get_timeline(customer_id: str, request: Request, account: str = Depends(require_token)) -> dict[str, Any]:
    """The customer's activity log, oldest first."""
    runtime = _runtime(request)
    with runtime.engine.connect() as conn:
        if not queries.customer_exists(conn, account, customer_id):
            raise HTTPException(404, "no such customer")
        return {"items": queries.timeline(conn, account, customer_id)}


@router.get("/api/messages", tags=["messages"])
def get_messages(
    request: Request, account: str = Depends(require_token), customer_id: str | None = None
) -> dict[str, Any]:
    """Messages planned and sent."""
    with _runtime(request).engine.connect() as conn:
        return {"items": queries.list_messages(conn, account, customer_id)}


@router.get("/api/errors", tags=["errors"])
def get_errors(
    request: Request,
    account: str = Depends(require_token),
    kind: str | None = Query(None, pattern="^(inbox|timer|outbox)$"),
) -> dict[str, Any]:
    """The error queue."""
    with _runtime(request).engine.connect() as conn:
        return {"items": [item.as_json() for item in errors.list_errors(conn, account, kind)]}


@router.post("/api/errors/{error_id}/retry", tags=["errors"])
def retry_error(error_id: str, request: Request, account: str = Depends(require_token)) -> dict[str, Any]:
    """Put one failed row back to work with a fresh retry budget."""
    runtime = _runtime(request)
    with runtime.engine.begin() as conn:
        if not errors.retry(conn, account, error_id, runtime.clock.now()):
            raise HTTPException(404, f"no open error {error_id!r}")
    return {"id": error_id, "status": "pending"}


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], response_model=None)
def readyz(request: Request) -> dict[str, Any] | JSONResponse:
    """The database answers; how much work is waiting."""
    runtime = _runtime(request)
    try:
        with runtime.engine.connect() as conn:
            counts = queries.readiness(conn, runtime.clock.now())
    except SQLAlchemyError as exc:
        return JSONResponse({"db": "unreachable", "error": type(exc).__name__}, status_code=503)
    return {"db": "ok", **counts}


@router.get("/metrics", tags=["health"], include_in_schema=False)
def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
