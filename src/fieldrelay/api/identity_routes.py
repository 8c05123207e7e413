"""JSON API of identity resolution: the review queue of uncertain pairs, merges and their undo, one customer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from fieldrelay.api.auth import Caller, allowed_to, require_token
from fieldrelay.api.state import runtime_of
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.crm.ports import MergeRefused
from fieldrelay.service.identity import review as identity_review
from fieldrelay.storage import queries
from fieldrelay.storage.identity import queries as identity_queries

router = APIRouter(tags=["identity"])


class Decision(BaseModel):
    """Who decides; recorded in the audit trail."""

    by: str = Field(default="api", min_length=1, max_length=80)


@router.get("/api/customers/{customer_id}", tags=["customers"])
def get_customer(customer_id: str, request: Request, account: str = Depends(require_token)) -> dict[str, Any]:
    """One customer: contact details, CRM fields with where each value came from, deals, history, equipment."""
    with runtime_of(request).engine.connect() as conn:
        found = queries.customer_detail(conn, account, customer_id)
    if found is None:
        raise HTTPException(404, "no such customer")
    return found


@router.get("/api/merge-candidates")
def get_merge_candidates(
    request: Request,
    account: str = Depends(require_token),
    status: str = Query("open", pattern="^(open|merged|distinct|closed)$"),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """Pairs the matcher was unsure of, both records side by side with the evidence, the likeliest first."""
    with runtime_of(request).engine.connect() as conn:
        return {"items": identity_queries.list_candidates(conn, account, status, limit)}


@router.post("/api/merge-candidates/{candidate_id}/merge")
def merge_candidate(
    candidate_id: int,
    request: Request,
    decision: Decision | None = None,
    caller: Caller = Depends(allowed_to(Action.MERGE)),
) -> dict[str, Any]:
    """Merge the pair: the newer record folds into the older one (undo with POST /api/merges/{id}/undo)."""
    by = caller.by((decision or Decision()).by) or "api"
    try:
        with runtime_of(request).unit_of_work(caller.account) as ctx:
            merge_id = identity_review.merge_pair(ctx, candidate_id, by)
            after = {"status": "merged", "merge_id": merge_id}
            audit.record(ctx, caller.actor, Action.MERGE, "merge_candidate", str(candidate_id), after=after)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    except MergeRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"merge_id": merge_id, "candidate_id": candidate_id}


@router.post("/api/merge-candidates/{candidate_id}/distinct")
def keep_apart(
    candidate_id: int,
    request: Request,
    decision: Decision | None = None,
    caller: Caller = Depends(allowed_to(Action.KEEP_APART)),
) -> dict[str, Any]:
    """Record that the pair are two different people; the pair leaves the queue."""
    by = caller.by((decision or Decision()).by) or "api"
    try:
        with runtime_of(request).unit_of_work(caller.account) as ctx:
            identity_review.keep_apart(ctx, candidate_id, by)
            after = {"status": "distinct"}
            audit.record(ctx, caller.actor, Action.KEEP_APART, "merge_candidate", str(candidate_id), after=after)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    except MergeRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"candidate_id": candidate_id, "status": "distinct"}


@router.get("/api/merges")
def get_merges(
    request: Request,
    account: str = Depends(require_token),
    customer_id: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """Merges, automatic and by a person, newest first."""
    with runtime_of(request).engine.connect() as conn:
        return {"items": identity_queries.list_merges(conn, account, customer_id, limit)}


@router.post("/api/merges/{merge_id}/undo")
def undo_merge(
    merge_id: int,
    request: Request,
    decision: Decision | None = None,
    caller: Caller = Depends(allowed_to(Action.UNDO_MERGE)),
) -> dict[str, Any]:
    """Undo a merge: the merged record comes back with its ids, contact points, jobs and timeline."""
    by = caller.by((decision or Decision()).by) or "api"
    try:
        with runtime_of(request).unit_of_work(caller.account) as ctx:
            survivor_id, restored_id = identity_review.unmerge(ctx, merge_id, by)
            after = {"undone": True, "restored_id": restored_id}
            audit.record(ctx, caller.actor, Action.UNDO_MERGE, "merge", str(merge_id), after=after)
    except MergeRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"merge_id": merge_id, "survivor_id": survivor_id, "restored_id": restored_id}
