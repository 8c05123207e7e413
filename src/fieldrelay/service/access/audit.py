"""The audit log: every human action written with who, when, what and before/after, in the action's transaction.

Web pages, API routes and CLI commands all write through ``record`` (inside a unit of work) or ``record_in`` (a store
on a transaction they opened themselves), so the entry commits or rolls back with the action.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fieldrelay.service.access.permissions import Actor
from fieldrelay.service.access.ports import AuditEntry, AuditStore
from fieldrelay.service.context import HandlerContext

_TEXT_LIMIT = 2000  # a note is kept whole up to this; the audit log is not the place for essays


def _trim(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {key: value[:_TEXT_LIMIT] if isinstance(value, str) else value for key, value in values.items()}


def record_in(
    store: AuditStore,
    now: datetime,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Write one entry to ``store`` (values must be JSON: strings, numbers, booleans, lists, dicts, None)."""
    store.add_audit(
        AuditEntry(
            at=now,
            actor=actor.name[:100],
            actor_role=actor.role,
            via=actor.via,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            before=_trim(before),
            after=_trim(after),
        )
    )


def record(
    ctx: HandlerContext,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    """Write one entry in the unit of work ``ctx`` (committed with the action, or not at all)."""
    record_in(ctx.store, ctx.now, actor, action, subject_type, subject_id, before, after)
