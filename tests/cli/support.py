"""Helpers for the command-line tests: who the audit log says acted."""

from __future__ import annotations

import getpass

from fieldrelay.runtime import Runtime
from tests.service.access.support import audit_entries

OPERATOR = f"cli:{getpass.getuser()}"  # who a command acts as when nobody is named


def signed(runtime: Runtime, action: str) -> list[tuple[str, str, str, str | None]]:
    """(who, role, via, subject id) of each audit entry of ``action``, in the order written."""
    return [(e.actor, e.actor_role, e.via, e.subject_id) for e in audit_entries(runtime, action)]
