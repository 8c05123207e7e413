"""What a person does with the review queue and merges: merge a pair, keep it apart, undo a merge."""

from __future__ import annotations

from fieldrelay.service.changes import ContactChanged
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.crm.ports import MergeRefused
from fieldrelay.service.crm.targets import MERGED, UNMERGED
from fieldrelay.service.identity import resolve as identity
from fieldrelay.service.intake import customers


def merge_pair(ctx: HandlerContext, candidate_id: int, by: str) -> int:
    """Merge an open pair: the newer record folds into the older one; return the merge id."""
    store = ctx.store
    pair = store.merge_candidate(candidate_id)
    if pair is None:
        raise LookupError(f"no merge candidate {candidate_id}")
    if pair.status != "open":
        raise MergeRefused(f"merge candidate {candidate_id} is already {pair.status}")
    merge_id = store.merge_customers(pair.other_id, pair.customer_id, f"person:{by}", pair.score, pair.evidence)
    store.add_activity(
        pair.other_id,
        ctx.now,
        "customer.merged",
        f"{by} merged a duplicate record into this customer (merge {merge_id}; undo: fieldrelay customers unmerge "
        f"{merge_id})",
        "fieldrelay",
        True,
    )
    customers.refresh_stage(ctx, pair.other_id)
    # The outside CRMs: the survivor with what the merge brought, the merged record marked or removed (crm.sync).
    for customer_id, summary in ((pair.other_id, "Duplicate record merged in"), (pair.customer_id, "Merged")):
        ctx.publish(ContactChanged(customer_id, ctx.now, event=MERGED, summary=f"{summary} (merge {merge_id})"))
    return merge_id


def keep_apart(ctx: HandlerContext, candidate_id: int, by: str) -> None:
    """Record that an open pair are two different people; the pair leaves the queue."""
    pair = ctx.store.merge_candidate(candidate_id)
    if pair is None:
        raise LookupError(f"no merge candidate {candidate_id}")
    if pair.status != "open":
        raise MergeRefused(f"merge candidate {candidate_id} is already {pair.status}")
    ctx.store.decide_candidate(candidate_id, "distinct", by)


def unmerge(ctx: HandlerContext, merge_id: int, by: str) -> tuple[str, str]:
    """Undo a merge: the merged record comes back with what it brought; return (survivor id, restored id)."""
    store = ctx.store
    survivor_id, restored_id = store.unmerge_customers(merge_id, by)
    for customer_id in (survivor_id, restored_id):
        store.add_activity(
            customer_id, ctx.now, "customer.unmerged", f"{by} undid merge {merge_id}", "fieldrelay", True
        )
        customers.refresh_stage(ctx, customer_id)
        identity.index(ctx, customer_id)
        ctx.publish(ContactChanged(customer_id, ctx.now, event=UNMERGED, summary=f"Merge {merge_id} undone"))
    return survivor_id, restored_id
