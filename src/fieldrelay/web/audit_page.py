"""The audit log page: who did what, when, newest first, filtered by person and how far back."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from fieldrelay.service.access.permissions import Action
from fieldrelay.storage.access.queries import list_audit
from fieldrelay.web import render
from fieldrelay.web.guard import Person, allowed_to
from fieldrelay.web.state import runtime_of

router = APIRouter()
SPANS = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30), "all": None}


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    who: str = Query("", max_length=100),
    since: str = Query("7d", pattern="^(1d|7d|30d|all)$"),
    person: Person = Depends(allowed_to(Action.READ_AUDIT)),
) -> HTMLResponse:
    """The entries of the chosen span (default the last 7 days), at most 500."""
    runtime = runtime_of(request)
    span = SPANS[since]
    start = runtime.clock.now() - span if span is not None else None
    with runtime.engine.connect() as conn:
        entries = list_audit(conn, runtime.settings.account_id, since=start, who=who or None, limit=500)
    return render.page(request, "audit.html", person, entries=entries, who=who, since=since, spans=list(SPANS))
