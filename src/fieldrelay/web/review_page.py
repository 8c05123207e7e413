"""Daily review: today's open-loop list exactly as the morning email and ``GET /api/review/today`` have it (deals
waiting on an estimate decision, oldest first, with owner, next action, due time and an overdue flag), and per row one
click to log a follow-up call, assign the deal or open the customer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from fieldrelay.service.access.permissions import Action
from fieldrelay.service.handoff import review, stages
from fieldrelay.web import deals, render
from fieldrelay.web.guard import Person, allowed_to, signed_in
from fieldrelay.web.state import runtime_of

router = APIRouter()


def _render(request: Request, person: Person, *, flash: str = "", error: str = "") -> HTMLResponse:
    """The list: the fragment for htmx, the whole page for a browser without it."""
    items = deals.read(request, review.today)
    pipeline = runtime_of(request).settings.pipeline
    context: dict[str, Any] = {
        "items": items,
        "overdue": sum(item.overdue for item in items),
        "stage_name": lambda stage_id: found.name if (found := pipeline.stage(stage_id)) else stage_id,
        "team": deals.team(request),
        "can_call": person.may(Action.LOG_CALL),
        "can_assign": person.may(Action.REASSIGN),
        "flash": flash,
        "error": error,
    }
    fragment = bool(request.headers.get("hx-request"))
    return render.page(request, "review_list.html" if fragment else "review.html", person, **context)


@router.get("/review", response_class=HTMLResponse)
def today(request: Request, person: Person = Depends(signed_in)) -> HTMLResponse:
    """The page."""
    return _render(request, person)


@router.post("/review/deals/{deal_id}/call", response_class=HTMLResponse)
def log_call(
    request: Request,
    deal_id: str,
    note: str = Form("", max_length=2000),
    person: Person = Depends(allowed_to(Action.LOG_CALL)),
) -> HTMLResponse:
    """A follow-up call on the timeline; it closes the deal's soonest open follow-up."""
    by = person.user.name
    done = deals.act(
        request,
        person,
        Action.LOG_CALL,
        deal_id,
        {"channel": "call", "note": note.strip()},
        lambda ctx: stages.log_followup(ctx, deal_id, "call", note, by),
    )
    return _render(request, person, flash="" if done.error else f"Call logged: {done.customer}.", error=done.error)


@router.post("/review/deals/{deal_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    deal_id: str,
    to: str = Form("", max_length=100),
    person: Person = Depends(allowed_to(Action.REASSIGN)),
) -> HTMLResponse:
    """Hand the deal and its open tasks to a team member now."""
    done = deals.assign(request, person, deal_id, to)
    return _render(request, person, flash="" if done.error else f"{done.customer} is now {to}'s.", error=done.error)
