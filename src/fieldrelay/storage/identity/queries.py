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


def labelled_pairs(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """Every decision on a pair of records, as a labelled pair for calibrating the matcher, oldest first.

    A merge (automatic or by a person) says "same"; its undo and a person's "keep apart" say "different". A merge
    later undone gives both rows: the undo is the later word. Evidence is the per-field outcome the matcher saw.
    """
    g, m = merges.c, merge_candidates.c
    out: list[dict[str, Any]] = []
    for r in conn.execute(select(merges).where(g.account_id == account_id)).all():
        how = "auto_merge" if r.decided_by == "auto" else "person_merge"
        out.append(_pair(how, "same", r.merged_id, r.survivor_id, r.score, r.decided_by, r.merged_at, r.evidence))
        if r.undone_at is not None:
            out.append(
                _pair("undo", "different", r.merged_id, r.survivor_id, r.score, r.undone_by, r.undone_at, r.evidence)
            )
    kept = select(merge_candidates).where(m.account_id == account_id, m.status == "distinct")
    for r in conn.execute(kept).all():
        out.append(
            _pair("keep_apart", "different", r.customer_id, r.other_id, r.score, r.decided_by, r.decided_at, r.evidence)
        )
    return sorted(out, key=lambda row: (row["decided_at"] or "", row["kind"]))


def _pair(
    kind: str, label: str, record: str, other: str, score: float | None, by: str | None, at: Any, evidence: Any
) -> dict[str, Any]:
    return {
        "kind": kind,
        "label": label,
        "customer_id": record,
        "other_id": other,
        "score": score,
        "decided_by": by,
        "decided_at": iso(at),
        "evidence": ";".join(f"{e['field']}:{e['outcome']}" for e in evidence or []),
    }
