"""Tables of people who sign in: accounts with a role, their API tokens, and the audit log of what people did."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from fieldrelay.storage.tables import Id, _utc, metadata

# One person who signs in to the office app. ``name`` is the same person as the team member of that name
# (fieldrelay.yaml ``team:``, the team_members table): tasks are assigned by name.
users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    # What a person types to sign in: their email when they have one, else their name; kept lower case.
    Column("login", String(254), nullable=False),
    Column("email", String(254)),
    # owner, operations, office (a CSR), dispatcher, sales, technician (read only): service/access/permissions.py
    Column("role", String(32), nullable=False),
    # argon2 (pwdlib); NULL until the person has chosen one through a setup link.
    Column("password_hash", String(255)),
    Column("active", Boolean, nullable=False),
    # Raised on disable, password change and sign-out everywhere: a session cookie carrying an older epoch is void.
    Column("session_epoch", Integer, nullable=False),
    # A one-time setup (or reset) link: sha256 of its secret, and when it stops working.
    Column("setup_hash", String(64)),
    Column("setup_expires_at", _utc()),
    Column("last_signed_in_at", _utc()),
    Column("created_at", _utc(), nullable=False),
    Column("updated_at", _utc(), nullable=False),
    UniqueConstraint("account_id", "login", name="uq_users_login"),
    UniqueConstraint("account_id", "name", name="uq_users_name"),
)

# A person's token for the JSON API: only its sha256 is kept (the token itself is shown once); it acts with the
# person's role, and stops working when revoked or when the person is disabled.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("label", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False),
    # The first characters of the token, so a person can tell their tokens apart in a list.
    Column("prefix", String(16), nullable=False),
    Column("created_at", _utc(), nullable=False),
    Column("last_used_at", _utc()),
    Column("revoked_at", _utc()),
    UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
)

# Every human action, written in the transaction of the action itself: who, when, what, on what, before and after.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("at", _utc(), nullable=False),
    # The person's name ("admin" for the deployment's token, the CLI's --as or "cli:<os user>").
    Column("actor", String(100), nullable=False),
    Column("actor_role", String(32), nullable=False),
    # web, api or cli
    Column("via", String(8), nullable=False),
    Column("action", String(48), nullable=False),
    Column("subject_type", String(32), nullable=False),
    Column("subject_id", String(100)),
    Column("before", JSON),
    Column("after", JSON),
)
Index("ix_audit_log_at", audit_log.c.account_id, audit_log.c.at)
Index("ix_audit_log_actor", audit_log.c.account_id, audit_log.c.actor, audit_log.c.at)
