"""Duplicates: the identity review queue (pairs the matcher was unsure of) with both records side by side and the
evidence, merge or keep apart, and the merge history with undo — for the owner and operations only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.crm.ports import MergeRefused
from fieldrelay.service.identity import review as identity_review
from fieldrelay.storage import profile
from fieldrelay.storage.identity import queries as identity_queries
from fieldrelay.web import render
from fieldrelay.web.customers import when
from fieldrelay.web.guard import Person, allowed_to
from fieldrelay.web.state import runtime_of

router = APIRouter()
SHOWN = 50  # pairs and merges on the page; the likeliest pairs and the newest merges first


def _page(request: Request, person: Person, status: int = 200, **extra: Any) -> HTMLResponse:
    runtime = runtime_of(request)
    with runtime.engine.connect() as conn:
        pairs = identity_queries.list_candidates(conn, runtime.settings.account_id, "open", SHOWN)
        merges = identity_queries.list_merges(conn, runtime.settings.account_id, None, SHOWN)
        ids = {m["survivor_id"] for m in merges} | {m["merged_id"] for m in merges}
        names = profile.names_of(conn, runtime.settings.account_id, ids)
    context = {
        "pairs": pairs,
        "merges": merges,
        "names": names,
        "when": when,
        "can_undo": person.may(Action.UNDO_MERGE),
        **extra,
    }
    if request.headers.get("hx-request"):
        status = 200  # htmx swaps only 2xx answers; the refusal is in the page
    return render.page(request, "duplicates.html", person, status=status, **context)


@router.get("/duplicates", response_class=HTMLResponse)
def duplicates(request: Request, person: Person = Depends(allowed_to(Action.MERGE))) -> HTMLResponse:
    """The open pairs, the likeliest first, and the merge history."""
    return _page(request, person)


@router.post("/duplicates/{candidate_id}/merge", response_class=HTMLResponse)
def merge(request: Request, candidate_id: int, person: Person = Depends(allowed_to(Action.MERGE))) -> HTMLResponse:
    """Merge the pair: the newer record folds into the older one (undo from the history below)."""
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            merge_id = identity_review.merge_pair(ctx, candidate_id, person.user.name)
            after = {"status": "merged", "merge_id": merge_id}
            audit.record(ctx, person.actor, Action.MERGE, "merge_candidate", str(candidate_id), after=after)
    except (LookupError, MergeRefused) as exc:
        return _page(request, person, 409, error=f"Not merged: {exc}.")
    return _page(request, person, flash=f"Merged (merge {merge_id}). Undo it in the history below if it was wrong.")


@router.post("/duplicates/{candidate_id}/keep-apart", response_class=HTMLResponse)
def keep_apart(
    request: Request, candidate_id: int, person: Person = Depends(allowed_to(Action.KEEP_APART))
) -> HTMLResponse:
    """Record that the pair are two different people; the pair leaves the queue."""
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            identity_review.keep_apart(ctx, candidate_id, person.user.name)
            after = {"status": "distinct"}
            audit.record(ctx, person.actor, Action.KEEP_APART, "merge_candidate", str(candidate_id), after=after)
    except (LookupError, MergeRefused) as exc:
        return _page(request, person, 409, error=f"Not changed: {exc}.")
    return _page(request, person, flash="Kept apart: they stay two customers and leave the queue.")


@router.post("/merges/{merge_id}/undo", response_model=None)
def undo(
    request: Request,
    merge_id: int,
    back: str = Form("", max_length=200),
    person: Person = Depends(allowed_to(Action.UNDO_MERGE)),
) -> Response:
    """Undo a merge: the merged record comes back with its ids, contacts, jobs and timeline.

    From a customer's profile (``back`` names it) the answer goes back there; otherwise it is this page.
    """
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            survivor_id, restored_id = identity_review.unmerge(ctx, merge_id, person.user.name)
            after = {"undone": True, "survivor_id": survivor_id, "restored_id": restored_id}
            audit.record(ctx, person.actor, Action.UNDO_MERGE, "merge", str(merge_id), after=after)
    except MergeRefused as exc:
        return _page(request, person, 409, error=f"Not undone: {exc}.")
    # Only a path of this app: never a redirect elsewhere.
    if back.startswith("/customers/") and "//" not in back:
        return RedirectResponse(back, status_code=303)
    return _page(request, person, flash=f"Merge {merge_id} undone: both customers are back as they were.")
