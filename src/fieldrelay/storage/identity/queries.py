"""Read models of identity resolution: the review queue and the merge history, for the API and the CLI."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from fieldrelay.storage.queries import customer_summary, iso
from fieldrelay.storage.tables import merge_candidates, merges


def list_candidates(conn: Connection, account_id: str, status: str = "open", limit: int = 50) -> list[dict[str, Any]]:
    """Pairs in the review queue with both records side by side, the likeliest first."""
    m = merge_candidates.c
    rows = conn.execute(
        select(merge_candidates)
        .where(m.account_id == account_id, m.status == status)
        .order_by(m.score.desc(), m.id)
        .limit(limit)
    ).all()
    return [
        {
            "id": r.id,
            "score": round(r.score, 4),
            "rule": r.rule,
            "status": r.status,
            "evidence": r.evidence,
            "created_at": iso(r.created_at),
            "decided_at": iso(r.decided_at),
            "decided_by": r.decided_by,
            "customer": customer_summary(conn, account_id, r.customer_id),
            "other": customer_summary(conn, account_id, r.other_id),
        }
        for r in rows
    ]


def list_merges(
    conn: Connection, account_id: str, customer_id: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Merges, newest first; with ``customer_id`` only those it took part in."""
    g = merges.c
    query = select(merges).where(g.account_id == account_id)
    if customer_id is not None:
        query = query.where(or_(g.survivor_id == customer_id, g.merged_id == customer_id))
    rows = conn.execute(query.order_by(g.merged_at.desc(), g.id.desc()).limit(limit)).all()
    return [
        {
            "id": r.id,
            "survivor_id": r.survivor_id,
            "merged_id": r.merged_id,
            "score": r.score,
            "decided_by": r.decided_by,
            "merged_at": iso(r.merged_at),
            "undone_at": iso(r.undone_at),
            "undone_by": r.undone_by,
            "evidence": r.evidence,
        }
        for r in rows
    ]
