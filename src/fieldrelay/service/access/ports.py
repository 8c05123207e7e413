"""What the access capability reads and writes: people, their API tokens, and audit entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class UserRecord:
    """One person who signs in."""

    id: str
    name: str
    login: str
    email: str | None
    role: str
    password_hash: str | None
    active: bool
    session_epoch: int
    setup_hash: str | None
    setup_expires_at: datetime | None
    last_signed_in_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class TokenRecord:
    """One API token of a person (its secret is never kept)."""

    id: str
    user_id: str
    label: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class AuditEntry:
    """One human action: who, when, through what, what, on what, and the subject before and after."""

    at: datetime
    actor: str
    actor_role: str
    via: str
    action: str
    subject_type: str
    subject_id: str | None
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None


class AuditStore(Protocol):
    """Where audit entries are written, inside the transaction of the action they record."""

    def add_audit(self, entry: AuditEntry) -> None:
        """Append one entry."""
        ...


class AccessStore(AuditStore, Protocol):
    """People and their tokens inside the caller's transaction."""

    def user_by_id(self, user_id: str) -> UserRecord | None:
        """One person by id."""
        ...

    def user_by_login(self, login: str) -> UserRecord | None:
        """The person whose login or name is ``login`` (either case)."""
        ...

    def user_by_setup_hash(self, digest: str) -> UserRecord | None:
        """The person holding the setup link with this sha256."""
        ...

    def list_users(self) -> list[UserRecord]:
        """Everyone, by name."""
        ...

    def insert_user(self, values: Mapping[str, object]) -> str:
        """Add a person; their id."""
        ...

    def update_user(self, user_id: str, values: Mapping[str, object]) -> None:
        """Change a person's row."""
        ...

    def insert_token(self, values: Mapping[str, object]) -> str:
        """Add an API token; its id."""
        ...

    def token_by_hash(self, digest: str) -> TokenRecord | None:
        """The token with this sha256."""
        ...

    def tokens_of(self, user_id: str) -> list[TokenRecord]:
        """A person's tokens, newest first."""
        ...

    def update_token(self, token_id: str, values: Mapping[str, object]) -> None:
        """Change a token's row."""
        ...
