"""JSON API of the follow-up: who is on which sequence step and why they left (tasks: api/task_routes.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from fieldrelay.api.auth import require_token
from fieldrelay.api.state import runtime_of
from fieldrelay.storage.sequences import queries as sequence_queries

router = APIRouter(tags=["follow-up"])


@router.get("/api/enrollments")
def get_enrollments(
    request: Request,
    account: str = Depends(require_token),
    customer_id: str | None = None,
    sequence: str | None = None,
    status: str | None = Query(None, pattern="^(active|completed|exited)$"),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """Sequence enrolments, newest first: the next step and when it falls due, the last step, why one ended."""
    with runtime_of(request).engine.connect() as conn:
        items = sequence_queries.list_enrollments(
            conn, account, customer_id=customer_id, sequence=sequence, status=status, limit=limit
        )
    return {"items": [item.as_json() for item in items]}
