"""JSON API: customers, timelines, messages, the error queue, health and readiness."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from fieldrelay.api.auth import Caller, allowed_to, require_token
from fieldrelay.api.state import runtime_of
from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.storage import queries
from fieldrelay.storage.access.repo import SqlAccessStore
from fieldrelay.storage.ops import errors

router = APIRouter()


@router.get("/api/customers", tags=["customers"])
def get_customers(
    request: Request,
    account: str = Depends(require_token),
    phone: str | None = Query(None, description="any format; matched as E.164"),
    email: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """Customers by phone or email, or the most recently changed."""
    runtime = runtime_of(request)
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
    runtime = runtime_of(request)
    with runtime.engine.connect() as conn:
        if not queries.customer_exists(conn, account, customer_id):
            raise HTTPException(404, "no such customer")
        return {"items": queries.timeline(conn, account, customer_id)}


@router.get("/api/messages", tags=["messages"])
def get_messages(
    request: Request, account: str = Depends(require_token), customer_id: str | None = None
) -> dict[str, Any]:
    """Messages planned and sent."""
    with runtime_of(request).engine.connect() as conn:
        return {"items": queries.list_messages(conn, account, customer_id)}


class Dismissal(BaseModel):
    """Who closes an error without retrying it, and why."""

    by: str | None = Field(None, max_length=100)
    reason: str | None = Field(None, max_length=500)


def _older_than(raw: str | None) -> timedelta | None:
    if raw is None:
        return None
    try:
        return errors.parse_age(raw)
    except ValueError as exc:
        raise HTTPException(422, f"older_than: {exc}") from exc


@router.get("/api/errors", tags=["errors"])
def get_errors(
    request: Request,
    account: str = Depends(require_token),
    kind: str | None = Query(None, pattern="^(inbox|timer|outbox)$"),
    source: str | None = Query(None, description="connector, timer kind or outbox target"),
    target: str | None = Query(None, description="deliveries to one outbox target: sms, email, hubspot …"),
    older_than: str | None = Query(None, description="a duration like 30m, 2h or 7d"),
) -> dict[str, Any]:
    """The error queue, optionally only one kind, one source, one delivery target, or items at least this old."""
    runtime = runtime_of(request)
    age = _older_than(older_than)
    with runtime.engine.connect() as conn:
        items = errors.list_errors(
            conn, account, kind, source=source, target=target, older_than=age, now=runtime.clock.now()
        )
    return {"items": [item.as_json() for item in items]}


@router.get("/api/errors/{error_id}", tags=["errors"])
def get_error(error_id: str, request: Request, account: str = Depends(require_token)) -> dict[str, Any]:
    """One open error with its delivery attempts (outbox rows) or connector and event type (inbox rows)."""
    with runtime_of(request).engine.connect() as conn:
        detail = errors.error_detail(conn, account, error_id)
    if detail is None:
        raise HTTPException(404, f"no open error {error_id!r}")
    return detail


@router.post("/api/errors/{error_id}/retry", tags=["errors"])
def retry_error(
    error_id: str, request: Request, caller: Caller = Depends(allowed_to(Action.RETRY_ERROR))
) -> dict[str, Any]:
    """Put one failed row back to work with a fresh retry budget."""
    runtime = runtime_of(request)
    now = runtime.clock.now()
    with runtime.engine.begin() as conn:
        if not errors.retry(conn, caller.account, error_id, now):
            raise HTTPException(404, f"no open error {error_id!r}")
        store = SqlAccessStore(conn, caller.account, now)
        audit.record_in(store, now, caller.actor, Action.RETRY_ERROR, "error", error_id, after={"status": "pending"})
    return {"id": error_id, "status": "pending"}


@router.post("/api/errors/{error_id}/dismiss", tags=["errors"])
def dismiss_error(
    error_id: str,
    request: Request,
    body: Dismissal | None = None,
    caller: Caller = Depends(allowed_to(Action.DISMISS_ERROR)),
) -> dict[str, Any]:
    """Close one open error without retrying it; an outbox row's message is cancelled."""
    runtime = runtime_of(request)
    given, now = body or Dismissal(), runtime.clock.now()
    with runtime.engine.begin() as conn:
        if not errors.dismiss(conn, caller.account, error_id, caller.by(given.by), given.reason):
            raise HTTPException(404, f"no open error {error_id!r}")
        after = {"status": "dismissed", "reason": given.reason}
        audit.record_in(
            SqlAccessStore(conn, caller.account, now),
            now,
            caller.actor,
            Action.DISMISS_ERROR,
            "error",
            error_id,
            after=after,
        )
    return {"id": error_id, "status": "dismissed"}


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], response_model=None)
def readyz(request: Request) -> dict[str, Any] | JSONResponse:
    """The database answers and takes a write (a full disk does not); how much work is waiting."""
    runtime = runtime_of(request)
    try:
        with runtime.engine.connect() as conn:
            counts = queries.readiness(conn, runtime.clock.now())
    except SQLAlchemyError as exc:
        return JSONResponse({"db": "unreachable", "error": type(exc).__name__}, status_code=503)
    try:
        with runtime.engine.begin() as conn:
            queries.beat(conn, "readyz", runtime.clock.now())
    except SQLAlchemyError as exc:
        return JSONResponse({"db": "not writable", "error": type(exc).__name__, **counts}, status_code=503)
    return {"db": "ok", **counts}


@router.get("/metrics", tags=["health"], include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics: the process's counters, then this app's gauges read from the database."""
    body = generate_latest() + generate_latest(request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
