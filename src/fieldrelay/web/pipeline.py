"""Leads and pipeline: the open deals by stage (owner, age in the stage, next action and its clock), a phoned-in lead
taken through the same intake as a web-form lead, and the SOP's actions on a deal: qualify, the visit outcome, assign.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from fieldrelay.rules.pipeline import Stage
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.handoff import phoned, review, stages
from fieldrelay.service.handoff.first_response import HandoffRefused
from fieldrelay.service.handoff.review import ReviewItem
from fieldrelay.web import deals, render
from fieldrelay.web.guard import Person, allowed_to, signed_in
from fieldrelay.web.state import runtime_of

router = APIRouter()
OUTCOME_WORDS = {
    "estimate_sent": "Estimate sent",
    "work_approved": "Work approved",
    "no_decision": "No decision yet (call back on a date)",
}


def age(since: datetime, now: datetime) -> str:
    """How long a deal has stood at its stage: ``under an hour``, ``5 h``, ``1 day``, ``12 days``."""
    hours = int((now - since).total_seconds() // 3600)
    if hours < 1:
        return "under an hour"
    if hours < 24:
        return f"{hours} h"
    days = hours // 24
    return f"{days} day{'s' if days != 1 else ''}"


def board_stages(request: Request) -> list[Stage]:
    """The pipeline's stages a deal stands at while open, in the configured order."""
    return [s for s in runtime_of(request).settings.pipeline.stages if s.kind in ("open", "no_decision")]


def _columns(request: Request, items: list[ReviewItem]) -> list[tuple[Stage, list[ReviewItem]]]:
    return [(stage, [item for item in items if item.loop.stage == stage.id]) for stage in board_stages(request)]


def _render(request: Request, person: Person, *, flash: str = "", error: str = "", **form: Any) -> HTMLResponse:
    """The board (with the new-lead form): the fragment for htmx, the whole page for a browser without it."""
    items = deals.read(request, review.open_deals)
    pipeline = runtime_of(request).settings.pipeline
    context: dict[str, Any] = {
        "columns": _columns(request, items),
        "open_count": len(items),
        "team": deals.team(request),
        "age": age,
        "outcome_words": OUTCOME_WORDS,
        "may_qualify": lambda stage: pipeline.rank(stage) <= pipeline.rank(stages.QUALIFIED),
        "may_outcome": lambda stage: pipeline.rank(stage) >= pipeline.rank(stages.QUALIFIED),
        "can_new_lead": person.may(Action.NEW_LEAD),
        "can_qualify": person.may(Action.QUALIFY),
        "can_outcome": person.may(Action.RECORD_OUTCOME),
        "can_assign": person.may(Action.REASSIGN),
        "flash": flash,
        "error": error,
        "lead": form,
    }
    fragment = bool(request.headers.get("hx-request"))
    return render.page(request, "pipeline_board.html" if fragment else "pipeline.html", person, **context)


@router.get("/pipeline", response_class=HTMLResponse)
def board(request: Request, person: Person = Depends(signed_in)) -> HTMLResponse:
    """The page."""
    return _render(request, person)


@router.post("/pipeline/leads", response_class=HTMLResponse)
def new_lead(
    request: Request,
    name: str = Form("", max_length=200),
    phone: str = Form("", max_length=40),
    email: str = Form("", max_length=254),
    street: str = Form("", max_length=200),
    zip_code: str = Form("", max_length=10),
    service: str = Form("", max_length=200),
    notes: str = Form("", max_length=2000),
    person: Person = Depends(allowed_to(Action.NEW_LEAD)),
) -> HTMLResponse:
    """A phoned-in lead through the intake every lead takes, with its audit entry, in one unit of work."""
    lead = phoned.PhonedLead(name, phone, email, street, zip_code, service, notes)
    runtime = runtime_of(request)
    said = {"name": name.strip(), "phone": phone.strip(), "email": email.strip(), "zip": zip_code.strip()}
    said |= {"street": street.strip(), "service": service.strip(), "notes": notes.strip(), "source": phoned.CHANNEL}
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            taken = phoned.take(ctx, lead)
            after = {**said, "customer_id": taken.customer_id, "stage": taken.deal_stage}
            audit.record(ctx, person.actor, Action.NEW_LEAD, "deal", taken.deal_id, after=after)
    except (LookupError, HandoffRefused) as exc:
        return _render(request, person, error=deals.sentence(str(exc)), **said)
    stage = runtime.settings.pipeline.stage(taken.deal_stage or "")
    where = f"under {stage.name}" if stage else "on their customer record"
    return _render(request, person, flash=f"Lead taken for {name.strip() or 'the caller'}: {where}.")


@router.post("/pipeline/deals/{deal_id}/qualify", response_class=HTMLResponse)
def qualify(
    request: Request,
    deal_id: str,
    zip_code: str = Form("", max_length=10),
    job_type: str = Form("", max_length=100),
    when: str = Form("", max_length=200),
    person: Person = Depends(allowed_to(Action.QUALIFY)),
) -> HTMLResponse:
    """Stage 2: ZIP (inside the service area), job type and time window move the lead to Qualified."""
    said = {"zip": zip_code.strip(), "job_type": job_type.strip(), "when": when.strip()}
    done = deals.act(
        request,
        person,
        Action.QUALIFY,
        deal_id,
        said,
        lambda ctx: stages.qualify(
            ctx, deal_id, zip_code=zip_code, job_type=job_type, requested_for=when, by=person.user.name
        ),
    )
    return _render(request, person, flash="" if done.error else f"Qualified: {done.customer}.", error=done.error)


@router.post("/pipeline/deals/{deal_id}/outcome", response_class=HTMLResponse)
def outcome(
    request: Request,
    deal_id: str,
    outcome: str = Form("", max_length=20),
    follow_up_on: str = Form("", max_length=10),
    person: Person = Depends(allowed_to(Action.RECORD_OUTCOME)),
) -> HTMLResponse:
    """Stage 3: the visit's one outcome; no decision needs the date to call the customer back."""
    try:
        when = date.fromisoformat(follow_up_on) if follow_up_on.strip() else None
    except ValueError:
        return _render(request, person, error=f"{follow_up_on!r} is not a date.")
    if outcome == "no_decision" and when is None:
        # The SOP refuses it too, in the terminal's words; the page asks in its own.
        return _render(request, person, error="No decision yet: say which day to call the customer back.")
    said = {"outcome": outcome, "follow_up_on": when.isoformat() if when else None}
    done = deals.act(
        request,
        person,
        Action.RECORD_OUTCOME,
        deal_id,
        said,
        lambda ctx: stages.record_outcome(ctx, deal_id, outcome, follow_up_on=when, by=person.user.name),
    )
    words = OUTCOME_WORDS.get(outcome, outcome).split(" (")[0]
    return _render(request, person, flash="" if done.error else f"{words}: {done.customer}.", error=done.error)


@router.post("/pipeline/deals/{deal_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    deal_id: str,
    to: str = Form("", max_length=100),
    person: Person = Depends(allowed_to(Action.REASSIGN)),
) -> HTMLResponse:
    """Hand the deal and its open tasks to a team member now."""
    done = deals.assign(request, person, deal_id, to)
    return _render(request, person, flash="" if done.error else f"{done.customer} is now {to}'s.", error=done.error)
