"""JSON API of the lead-handoff SOP: the team, qualification, the field outcome, follow-ups, reassignment and the
daily open-loop review."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from fieldrelay.api.auth import require_token
from fieldrelay.api.state import runtime_of
from fieldrelay.rules.sequences import Role
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff import first_response as handoff
from fieldrelay.service.handoff import review as handoff_review
from fieldrelay.service.handoff import stages
from fieldrelay.service.handoff.first_response import HandoffRefused

router = APIRouter(tags=["lead handoff"])
T = TypeVar("T")


class Qualification(BaseModel):
    """What the dispatcher confirmed: all three are required."""

    zip: str = Field(default="", max_length=10)
    job_type: str = Field(default="", max_length=100)
    when: str = Field(default="", max_length=200)
    by: str | None = Field(default=None, max_length=100)


class FieldOutcome(BaseModel):
    """The one outcome of a visit; no_decision needs the date to follow up."""

    outcome: str
    follow_up_on: date | None = None
    by: str | None = Field(default=None, max_length=100)


class FollowupLog(BaseModel):
    """A call or text to the customer."""

    channel: Literal["call", "text"]
    note: str = Field(min_length=1, max_length=2000)
    by: str | None = Field(default=None, max_length=100)


class Assignment(BaseModel):
    """The team member who takes the deal over."""

    to: str = Field(min_length=1, max_length=100)
    by: str | None = Field(default=None, max_length=100)


class NewMember(BaseModel):
    """A team member to add (or update)."""

    name: str = Field(min_length=1, max_length=100)
    role: Role
    reports_to: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)


@contextmanager
def _refusals() -> Iterator[None]:
    """LookupError → 404, HandoffRefused → 422 with the SOP's reason."""
    try:
        yield
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    except HandoffRefused as exc:
        raise HTTPException(422, str(exc)) from exc


def _act(request: Request, account: str, action: Callable[[HandlerContext], T]) -> T:
    with _refusals(), runtime_of(request).unit_of_work(account) as ctx:
        return action(ctx)


@router.post("/api/deals/{deal_id}/qualify")
def qualify(
    deal_id: str, body: Qualification, request: Request, account: str = Depends(require_token)
) -> dict[str, Any]:
    """Move a new lead to Qualified: ZIP (inside the service area), job type and requested time are all required."""
    _act(
        request,
        account,
        lambda ctx: stages.qualify(
            ctx, deal_id, zip_code=body.zip, job_type=body.job_type, requested_for=body.when, by=body.by
        ),
    )
    return {"deal_id": deal_id, "stage": stages.QUALIFIED}


@router.post("/api/deals/{deal_id}/outcome")
def outcome(
    deal_id: str, body: FieldOutcome, request: Request, account: str = Depends(require_token)
) -> dict[str, Any]:
    """The field's outcome: estimate_sent, work_approved or no_decision (with follow_up_on)."""
    _act(
        request,
        account,
        lambda ctx: stages.record_outcome(ctx, deal_id, body.outcome, follow_up_on=body.follow_up_on, by=body.by),
    )
    return {"deal_id": deal_id, "stage": body.outcome}


@router.post("/api/deals/{deal_id}/followups")
def log_followup(
    deal_id: str, body: FollowupLog, request: Request, account: str = Depends(require_token)
) -> dict[str, Any]:
    """Log a call or text on the timeline; it closes the soonest open follow-up task."""
    _act(request, account, lambda ctx: stages.log_followup(ctx, deal_id, body.channel, body.note, body.by))
    return {"deal_id": deal_id, "logged": body.channel}


@router.post("/api/deals/{deal_id}/assign")
def assign(deal_id: str, body: Assignment, request: Request, account: str = Depends(require_token)) -> dict[str, Any]:
    """Hand the deal and its open tasks to a team member now."""
    moved = _act(request, account, lambda ctx: stages.assign(ctx, deal_id, body.to, body.by))
    return {"deal_id": deal_id, "owner": body.to, "tasks_moved": moved}


@router.get("/api/review/today")
def review_today(request: Request, account: str = Depends(require_token)) -> dict[str, Any]:
    """Deals waiting on an estimate decision, oldest first, with owner, next action, due time and an overdue flag."""
    items = _act(request, account, handoff_review.today)
    return {"items": [item.as_json() for item in items]}


@router.get("/api/deals/open")
def open_deals(request: Request, account: str = Depends(require_token)) -> dict[str, Any]:
    """Every open deal in the pipeline (the ids qualify, outcome and assign take), the longest-standing first."""
    items = _act(request, account, handoff_review.open_deals)
    return {"items": [item.as_json() for item in items]}


@router.get("/api/team")
def team(request: Request, account: str = Depends(require_token)) -> dict[str, Any]:
    """The team: role and lead of each member."""
    members = _act(request, account, lambda ctx: ctx.store.team_members())
    return {"items": [m.__dict__ for m in members]}


@router.post("/api/team")
def add_member(body: NewMember, request: Request, account: str = Depends(require_token)) -> dict[str, Any]:
    """Add a team member (or update one with the same name)."""
    created = _act(
        request, account, lambda ctx: handoff.add_member(ctx, body.name, body.role, body.reports_to, body.email)
    )
    return {"name": body.name, "created": created}
