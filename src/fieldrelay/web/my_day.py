"""My day: the signed-in person's open tasks with their clocks, completing one with an outcome, logging a call.

The operations lead and the owner see everyone's tasks (and may narrow to their own). The list refreshes itself every
15 seconds (htmx polls the fragment), except while a form in it is open, so nobody's typing is wiped.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from fieldrelay.service import team
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.handoff.first_response import HandoffRefused
from fieldrelay.service.tasks import calls, closing
from fieldrelay.service.tasks.closing import OutcomeRefused, TaskClosed
from fieldrelay.service.tasks.outcomes import Outcome, family_of
from fieldrelay.storage.tasks import queries as task_queries
from fieldrelay.storage.tasks.queries import TaskView
from fieldrelay.web import render
from fieldrelay.web.guard import Person, allowed_to, signed_in
from fieldrelay.web.state import runtime_of

router = APIRouter()
REFRESH_SECONDS = 15


def _everyone(person: Person, asked: str | None) -> bool:
    """Everyone's tasks for those who may see them, unless they asked for their own (``?who=mine``)."""
    return person.may(Action.SEE_ALL_TASKS) and asked != "mine"


def open_tasks(request: Request, person: Person, everyone: bool) -> list[TaskView]:
    """Open tasks, soonest due first: everyone's, or the person's own, those escalated to them and their role's."""
    runtime = runtime_of(request)
    settings, name = runtime.settings, person.user.name
    with runtime.engine.connect() as conn:
        if everyone:
            return task_queries.list_tasks(conn, settings.account_id, runtime.clock.now())
        roles = team.roles_of(settings, name) or (person.user.role,)
        return task_queries.list_tasks(conn, settings.account_id, runtime.clock.now(), mine=name, mine_roles=roles)


def outcomes(kind: str) -> tuple[Outcome, ...]:
    """The outcomes a task of ``kind`` may close with, in the order they are offered."""
    return family_of(kind).outcomes


def _list(
    request: Request, person: Person, who: str | None, *, fragment: bool, flash: str = "", error: str = ""
) -> HTMLResponse:
    everyone = _everyone(person, who)
    context: dict[str, Any] = {
        "tasks": open_tasks(request, person, everyone),
        "everyone": everyone,
        "who": "mine" if who == "mine" else "",
        "outcomes": outcomes,
        "can_complete": person.may(Action.COMPLETE_TASK),
        "can_call": person.may(Action.LOG_CALL),
        "can_see_all": person.may(Action.SEE_ALL_TASKS),
        "refresh": REFRESH_SECONDS,
        "flash": flash,
        "error": error,
    }
    template = "my_day_tasks.html" if fragment else "my_day.html"
    return render.page(request, template, person, **context)


@router.get("/", response_class=HTMLResponse)
def my_day(request: Request, who: str | None = None, person: Person = Depends(signed_in)) -> HTMLResponse:
    """The page."""
    return _list(request, person, who, fragment=False)


@router.get("/my-day/tasks", response_class=HTMLResponse)
def my_day_tasks(request: Request, who: str | None = None, person: Person = Depends(signed_in)) -> HTMLResponse:
    """The task list alone, for htmx to swap in."""
    return _list(request, person, who, fragment=True)


def _answer(request: Request, person: Person, who: str, flash: str = "", error: str = "") -> HTMLResponse:
    """After an action: the list fragment for htmx, the whole page for a browser without it."""
    return _list(
        request, person, who or None, fragment=bool(request.headers.get("hx-request")), flash=flash, error=error
    )


@router.post("/tasks/{task_id}/complete", response_class=HTMLResponse)
def complete(
    request: Request,
    task_id: str,
    outcome: str = Form("", max_length=32),
    note: str = Form("", max_length=2000),
    who: str = Form("", max_length=10),
    person: Person = Depends(allowed_to(Action.COMPLETE_TASK)),
) -> HTMLResponse:
    """Close the task with an outcome and a note: the timeline, the deal or sequence, and the audit log."""
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            closed = closing.complete(ctx, task_id, outcome, note, by=person.user.name)
            before = {"status": "open", "owner": closed.task.assignee or closed.task.role}
            after = {"status": "done", "outcome": closed.outcome.name, "note": note.strip()}
            audit.record(ctx, person.actor, Action.COMPLETE_TASK, "task", closed.task.id, before, after)
    except (LookupError, TaskClosed, OutcomeRefused, HandoffRefused) as exc:
        return _answer(request, person, who, error=str(exc))
    effects = "".join(f"; {effect}" for effect in closed.effects)
    return _answer(request, person, who, flash=f"Done: {closed.task.title} — {closed.outcome.words}{effects}.")


@router.post("/tasks/{task_id}/call", response_class=HTMLResponse)
def log_call(
    request: Request,
    task_id: str,
    note: str = Form("", max_length=2000),
    who: str = Form("", max_length=10),
    person: Person = Depends(allowed_to(Action.LOG_CALL)),
) -> HTMLResponse:
    """Log a call about the task on the customer's timeline (for a lead: the SOP's follow-up)."""
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            task = calls.log_call(ctx, task_id, note, by=person.user.name)
            audit.record(ctx, person.actor, Action.LOG_CALL, "task", task.id, after={"note": note.strip()})
    except (LookupError, TaskClosed, OutcomeRefused, HandoffRefused) as exc:
        return _answer(request, person, who, error=str(exc))
    return _answer(request, person, who, flash=f"Call logged: {task.title}.")
