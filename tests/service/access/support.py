"""Helpers for tests of people who sign in: add one with a password, read the audit log back."""

from __future__ import annotations

from typing import Any

from fieldrelay.runtime import Runtime
from fieldrelay.service.access import accounts
from fieldrelay.service.access.permissions import Actor
from fieldrelay.service.access.ports import UserRecord
from fieldrelay.storage.access.tables import audit_log
from tests.service.support import rows

PASSWORD = "correct horse battery"
SETUP = Actor("test-setup", "owner", "cli")


def add_person(
    runtime: Runtime, name: str, role: str, password: str | None = PASSWORD, email: str | None = None
) -> UserRecord:
    """A person with a sign-in (and a password, unless None)."""
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        return accounts.add_user(ctx.store, ctx.now, SETUP, name, role, email, password)


def audit_entries(runtime: Runtime, action: str | None = None) -> list[Any]:
    """Audit rows in the order written (not those of the set-up), optionally of one action."""
    found = [row for row in rows(runtime, audit_log) if row.actor != SETUP.name]
    return [row for row in found if action is None or row.action == action]
