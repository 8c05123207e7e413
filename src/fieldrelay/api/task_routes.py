"""JSON API of tasks for people: the list (mine, overdue, kind, status) and closing one with an outcome and a note."""

from __future__ import annotations

from typing import Any, get_args

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from fieldrelay.api.auth import Caller, allowed_to, require_token
from fieldrelay.api.state import runtime_of
from fieldrelay.rules.sequences import Role
from fieldrelay.service import team
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.handoff.first_response import HandoffRefused
from fieldrelay.service.tasks import closing
from fieldrelay.service.tasks.closing import AmbiguousTask, OutcomeRefused, TaskClosed
from fieldrelay.storage.queries import iso
from fieldrelay.storage.tasks import queries as task_queries

router = APIRouter(tags=["tasks"])

_ROLES = f"^({'|'.join(get_args(Role))})$"


class Completion(BaseModel):
    """How a task ended: an outcome of its family (service/tasks/outcomes.py), what happened, and who did it."""

    outcome: str = Field(min_length=1, max_length=32)
    note: str = Field(min_length=1, max_length=2000)
    by: str | None = Field(default=None, max_length=100)


@router.get("/api/tasks")
def get_tasks(
    request: Request,
    account: str = Depends(require_token),
    mine: str | None = Query(None, max_length=100, description="a person (or role): their tasks and escalations"),
    overdue: bool = Query(False, description="only open tasks past their due time"),
    kind: str | None = Query(None, max_length=64, description="a kind, or the kinds under it (sop.followup)"),
    status: str = Query("open", pattern="^(open|done|cancelled|all)$"),
    role: str | None = Query(None, pattern=_ROLES),
    customer_id: str | None = None,
    limit: int = Query(200, ge=1, le=1000),
) -> dict[str, Any]:
    """Tasks for people (first responses, follow-ups, service-recovery and offer calls), soonest due first."""
    runtime = runtime_of(request)
    with runtime.engine.connect() as conn:
        items = task_queries.list_tasks(
            conn,
            account,
            runtime.clock.now(),
            status=None if status == "all" else status,
            mine=mine,
            mine_roles=team.roles_of(runtime.settings, mine) if mine else (),
            overdue=overdue,
            kind=kind,
            role=role,
            customer_id=customer_id,
            limit=limit,
        )
    return {"items": [item.as_json() for item in items]}


@router.post("/api/tasks/{task_id}/complete")
def complete_task(
    task_id: str,
    body: Completion,
    request: Request,
    caller: Caller = Depends(allowed_to(Action.COMPLETE_TASK)),
) -> dict[str, Any]:
    """Close an open task (its id or a unique prefix): 404 unknown, 409 already closed, 422 an outcome it lacks."""
    runtime = runtime_of(request)
    by = caller.by(body.by)
    try:
        with runtime.unit_of_work(caller.account) as ctx:
            closed = closing.complete(ctx, task_id, body.outcome, body.note, by)
            at = ctx.now
            before = {"status": "open", "owner": closed.task.assignee or closed.task.role}
            after = {"status": "done", "outcome": closed.outcome.name, "note": body.note.strip()}
            audit.record(ctx, caller.actor, Action.COMPLETE_TASK, "task", closed.task.id, before, after)
    except (AmbiguousTask, OutcomeRefused) as exc:
        raise HTTPException(422, str(exc)) from exc
    except LookupError as exc:  # no such task (or its deal is gone)
        raise HTTPException(404, str(exc)) from exc
    except (TaskClosed, HandoffRefused) as exc:  # the task, or its deal, has moved on since it was listed
        raise HTTPException(409, str(exc)) from exc
    return {
        "id": closed.task.id,
        "kind": closed.task.kind,
        "status": "done",
        "outcome": closed.outcome.name,
        "note": body.note.strip(),
        "closed_by": by,
        "closed_at": iso(at),
        "effects": closed.effects,
    }
