"""SqlAccess: people, their API tokens and audit entries inside the caller's transaction (mixed into SqlMirror;
``SqlAccessStore`` stands alone for a transaction that is not a unit of work)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from fieldrelay.service.access.ports import AuditEntry, TokenRecord, UserRecord
from fieldrelay.storage.access.tables import api_tokens, audit_log, users


def user_record(row: Any) -> UserRecord:
    """A users row as a record."""
    return UserRecord(
        id=row.id,
        name=row.name,
        login=row.login,
        email=row.email,
        role=row.role,
        password_hash=row.password_hash,
        active=row.active,
        session_epoch=row.session_epoch,
        setup_hash=row.setup_hash,
        setup_expires_at=row.setup_expires_at,
        last_signed_in_at=row.last_signed_in_at,
        created_at=row.created_at,
    )


def token_record(row: Any) -> TokenRecord:
    """An api_tokens row as a record."""
    return TokenRecord(
        id=row.id,
        user_id=row.user_id,
        label=row.label,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class SqlAccess:
    """The AccessStore port on SQL tables."""

    _conn: Connection
    _account: str
    _now: datetime

    def add_audit(self, entry: AuditEntry) -> None:
        """Append one audit entry."""
        values = {
            **entry.__dict__,
            "before": None if entry.before is None else dict(entry.before),
            "after": None if entry.after is None else dict(entry.after),
        }
        self._conn.execute(insert(audit_log).values(account_id=self._account, **values))

    def _user(self, *where: Any) -> UserRecord | None:
        row = self._conn.execute(select(users).where(users.c.account_id == self._account, *where)).first()
        return None if row is None else user_record(row)

    def user_by_id(self, user_id: str) -> UserRecord | None:
        """One person by id."""
        return self._user(users.c.id == user_id)

    def user_by_login(self, login: str) -> UserRecord | None:
        """The person whose login or name is ``login`` (either case)."""
        wanted = login.strip().lower()
        return self._user(or_(users.c.login == wanted, func.lower(users.c.name) == wanted))

    def user_by_setup_hash(self, digest: str) -> UserRecord | None:
        """The person holding the setup link with this sha256."""
        return self._user(users.c.setup_hash == digest)

    def list_users(self) -> list[UserRecord]:
        """Everyone, by name."""
        query = select(users).where(users.c.account_id == self._account).order_by(users.c.name)
        return [user_record(row) for row in self._conn.execute(query)]

    def insert_user(self, values: Mapping[str, object]) -> str:
        """Add a person; their id."""
        user_id = str(uuid.uuid4())
        stamps = {"created_at": self._now, "updated_at": self._now}
        self._conn.execute(insert(users).values(id=user_id, account_id=self._account, **stamps, **values))
        return user_id

    def update_user(self, user_id: str, values: Mapping[str, object]) -> None:
        """Change a person's row."""
        where = (users.c.id == user_id, users.c.account_id == self._account)
        self._conn.execute(update(users).where(*where).values(**values, updated_at=self._now))

    def insert_token(self, values: Mapping[str, object]) -> str:
        """Add an API token; its id."""
        token_id = str(uuid.uuid4())
        self._conn.execute(insert(api_tokens).values(id=token_id, account_id=self._account, **values))
        return token_id

    def token_by_hash(self, digest: str) -> TokenRecord | None:
        """The token with this sha256 (in this account)."""
        k = api_tokens.c
        row = self._conn.execute(select(api_tokens).where(k.token_hash == digest, k.account_id == self._account))
        found = row.first()
        return None if found is None else token_record(found)

    def tokens_of(self, user_id: str) -> list[TokenRecord]:
        """A person's tokens, newest first."""
        k = api_tokens.c
        query = select(api_tokens).where(k.user_id == user_id, k.account_id == self._account)
        return [token_record(row) for row in self._conn.execute(query.order_by(k.created_at.desc(), k.id))]

    def update_token(self, token_id: str, values: Mapping[str, object]) -> None:
        """Change a token's row."""
        k = api_tokens.c
        self._conn.execute(update(api_tokens).where(k.id == token_id, k.account_id == self._account).values(**values))


class SqlAccessStore(SqlAccess):
    """SqlAccess on a connection of the caller's own (sign-in checks, the error queue's raw transactions)."""

    def __init__(self, conn: Connection, account_id: str, now: datetime) -> None:
        self._conn = conn
        self._account = account_id
        self._now = now
