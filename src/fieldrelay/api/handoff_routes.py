"""JSON API of the lead-handoff SOP: the team, qualification, the field outcome, follow-ups, reassignment and the
daily open-loop review."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from fieldrelay.api.auth import Caller, allowed_to, require_token
from fieldrelay.api.state import runtime_of
from fieldrelay.rules.sequences import Role
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
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


def _audited(
    request: Request,
    caller: Caller,
    done: Action,
    subject: tuple[str, str],
    after: dict[str, Any],
    action: Callable[[HandlerContext], T],
) -> T:
    """Run a person's action and its audit entry in one unit of work."""
    with _refusals(), runtime_of(request).unit_of_work(caller.account) as ctx:
        result = action(ctx)
        audit.record(ctx, caller.actor, done, *subject, after=after)
        return result


@router.post("/api/deals/{deal_id}/qualify")
def qualify(
    deal_id: str, body: Qualification, request: Request, caller: Caller = Depends(allowed_to(Action.QUALIFY))
) -> dict[str, Any]:
    """Move a new lead to Qualified: ZIP (inside the service area), job type and requested time are all required."""
    by, answers = caller.by(body.by), {"zip": body.zip, "job_type": body.job_type, "when": body.when}
    _audited(
        request,
        caller,
        Action.QUALIFY,
        ("deal", deal_id),
        answers,
        lambda ctx: stages.qualify(
            ctx, deal_id, zip_code=body.zip, job_type=body.job_type, requested_for=body.when, by=by
        ),
    )
    return {"deal_id": deal_id, "stage": stages.QUALIFIED}


@router.post("/api/deals/{deal_id}/outcome")
def outcome(
    deal_id: str,
    body: FieldOutcome,
    request: Request,
    caller: Caller = Depends(allowed_to(Action.RECORD_OUTCOME)),
) -> dict[str, Any]:
    """The field's outcome: estimate_sent, work_approved or no_decision (with follow_up_on)."""
    by, when = caller.by(body.by), body.follow_up_on
    _audited(
        request,
        caller,
        Action.RECORD_OUTCOME,
        ("deal", deal_id),
        {"outcome": body.outcome, "follow_up_on": when.isoformat() if when else None},
        lambda ctx: stages.record_outcome(ctx, deal_id, body.outcome, follow_up_on=when, by=by),
    )
    return {"deal_id": deal_id, "stage": body.outcome}


@router.post("/api/deals/{deal_id}/followups")
def log_followup(
    deal_id: str, body: FollowupLog, request: Request, caller: Caller = Depends(allowed_to(Action.LOG_CALL))
) -> dict[str, Any]:
    """Log a call or text on the timeline; it closes the soonest open follow-up task."""
    by, after = caller.by(body.by), {"channel": body.channel, "note": body.note}
    _audited(
        request,
        caller,
        Action.LOG_CALL,
        ("deal", deal_id),
        after,
        lambda ctx: stages.log_followup(ctx, deal_id, body.channel, body.note, by),
    )
    return {"deal_id": deal_id, "logged": body.channel}


@router.post("/api/deals/{deal_id}/assign")
def assign(
    deal_id: str, body: Assignment, request: Request, caller: Caller = Depends(allowed_to(Action.REASSIGN))
) -> dict[str, Any]:
    """Hand the deal and its open tasks to a team member now."""
    by = caller.by(body.by)
    moved = _audited(
        request,
        caller,
        Action.REASSIGN,
        ("deal", deal_id),
        {"owner": body.to},
        lambda ctx: stages.assign(ctx, deal_id, body.to, by),
    )
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
def add_member(
    body: NewMember, request: Request, caller: Caller = Depends(allowed_to(Action.MANAGE_USERS))
) -> dict[str, Any]:
    """Add a team member (or update one with the same name)."""
    created = _audited(
        request,
        caller,
        Action.MANAGE_USERS,
        ("team_member", body.name),
        {"role": body.role, "reports_to": body.reports_to},
        lambda ctx: handoff.add_member(ctx, body.name, body.role, body.reports_to, body.email),
    )
    return {"name": body.name, "created": created}
