"""Reading the audit log: newest first, filtered by time, person and action (the page and `fieldrelay audit`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from fieldrelay.storage.access.tables import audit_log


@dataclass(frozen=True)
class AuditView:
    """One audit entry as a list shows it."""

    id: int
    at: datetime
    actor: str
    actor_role: str
    via: str
    action: str
    subject_type: str
    subject_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def subject(self) -> str:
        """``task 1a2b3c4d`` or ``user``: the type and the start of the id."""
        return f"{self.subject_type} {self.subject_id[:8]}" if self.subject_id else self.subject_type

    @property
    def change(self) -> str:
        """Before → after in a line (``outcome: reached``, ``active: True → False``)."""
        before, after = self.before or {}, self.after or {}
        parts = []
        for key in [*before, *(k for k in after if k not in before)]:
            if key in before and key in after:
                parts.append(f"{key}: {before[key]} → {after[key]}")
            elif key in after:
                parts.append(f"{key}: {after[key]}")
            else:
                parts.append(f"{key} was {before[key]}")
        return "; ".join(parts)


def list_audit(
    conn: Connection,
    account_id: str,
    *,
    since: datetime | None = None,
    who: str | None = None,
    action: str | None = None,
    limit: int = 200,
) -> list[AuditView]:
    """Entries newest first; ``who`` is a person's name (either case), ``action`` an action or its prefix (user.)."""
    a = audit_log.c
    query = select(audit_log).where(a.account_id == account_id)
    if since is not None:
        query = query.where(a.at >= since)
    if who:
        query = query.where(func.lower(a.actor) == who.strip().lower())
    if action:
        query = query.where(a.action.startswith(action.strip(), autoescape=True))
    rows = conn.execute(query.order_by(a.at.desc(), a.id.desc()).limit(limit)).all()
    return [
        AuditView(r.id, r.at, r.actor, r.actor_role, r.via, r.action, r.subject_type, r.subject_id, r.before, r.after)
        for r in rows
    ]
