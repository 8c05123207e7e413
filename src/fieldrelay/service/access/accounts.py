"""People's sign-in accounts: adding, passwords (argon2 through pwdlib), setup links, disabling, and API tokens.

Each change is written to the audit log by the same call, in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import ROLES, Actor
from fieldrelay.service.access.ports import AccessStore, TokenRecord, UserRecord

MIN_PASSWORD = 10
SETUP_HOURS = 72
TOKEN_PREFIX = "frp_"  # marks a person's token, so a leaked one is recognisable (and told from the admin token)
_PASSWORDS = PasswordHash((Argon2Hasher(),))
# Verified against when no such login exists, so a wrong login costs the same time as a wrong password.
_DUMMY_HASH = _PASSWORDS.hash(secrets.token_urlsafe(16))


class AccountRefused(ValueError):
    """The change cannot be made as asked; the message says why, for a person."""


@dataclass(frozen=True)
class IssuedToken:
    """A new API token: the stored record and the secret, shown to the person once."""

    record: TokenRecord
    secret: str


def digest(secret: str) -> str:
    """The sha256 (hex) kept in place of a setup link's or API token's secret: they are random, so no salt is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountRefused(f"a password needs at least {MIN_PASSWORD} characters")


def _login_for(name: str, email: str | None) -> str:
    return (email or name).strip().lower()


def _snapshot(user: UserRecord) -> dict[str, object]:
    return {"name": user.name, "login": user.login, "role": user.role, "active": user.active}


def add_user(
    store: AccessStore,
    now: datetime,
    actor: Actor,
    name: str,
    role: str,
    email: str | None = None,
    password: str | None = None,
) -> UserRecord:
    """Add a person with a role (and a password, or none until a setup link is used)."""
    name, email = name.strip(), (email or "").strip() or None
    if not name:
        raise AccountRefused("give the person's name (as on the team in fieldrelay.yaml)")
    if role not in ROLES:
        raise AccountRefused(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
    login = _login_for(name, email)
    if store.user_by_login(name) is not None or store.user_by_login(login) is not None:
        raise AccountRefused(f"{name!r} already has a sign-in (or {login!r} is taken)")
    if password is not None:
        _check_password(password)
    user_id = store.insert_user(
        {
            "name": name,
            "login": login,
            "email": email,
            "role": role,
            "password_hash": _PASSWORDS.hash(password) if password is not None else None,
            "active": True,
            "session_epoch": 0,
        }
    )
    user = store.user_by_id(user_id)
    assert user is not None
    audit.record_in(store, now, actor, "user.add", "user", user.id, after=_snapshot(user))
    return user


def find(store: AccessStore, ref: str) -> UserRecord:
    """The person whose name or login is ``ref``; AccountRefused naming everyone when nobody is."""
    user = store.user_by_login(ref.strip())
    if user is None:
        names = ", ".join(u.name for u in store.list_users()) or "nobody yet"
        raise AccountRefused(f"nobody called {ref!r} has a sign-in (people: {names})")
    return user


def set_password(store: AccessStore, now: datetime, actor: Actor, user: UserRecord, password: str) -> None:
    """Give the person a new password; every session they had ends, and any setup link stops working."""
    _check_password(password)
    values = {"password_hash": _PASSWORDS.hash(password), "session_epoch": user.session_epoch + 1}
    store.update_user(user.id, {**values, "setup_hash": None, "setup_expires_at": None})
    audit.record_in(store, now, actor, "user.password", "user", user.id)


def setup_link_secret(
    store: AccessStore, now: datetime, actor: Actor, user: UserRecord, hours: int = SETUP_HOURS
) -> str:
    """A one-time secret for the person's setup link (the password they choose there); only its hash is kept."""
    secret = secrets.token_urlsafe(24)
    store.update_user(user.id, {"setup_hash": digest(secret), "setup_expires_at": now + timedelta(hours=hours)})
    audit.record_in(store, now, actor, "user.setup_link", "user", user.id, after={"valid_hours": hours})
    return secret


def user_for_setup(store: AccessStore, now: datetime, secret: str) -> UserRecord | None:
    """The active person a setup link is for, while it is unused and unexpired."""
    user = store.user_by_setup_hash(digest(secret))
    if user is None or not user.active or user.setup_expires_at is None or user.setup_expires_at <= now:
        return None
    return user


def set_active(store: AccessStore, now: datetime, actor: Actor, user: UserRecord, active: bool) -> None:
    """Disable (every session and token stops at once) or enable a person."""
    if actor.user_id == user.id and not active:
        raise AccountRefused("you cannot disable your own sign-in")
    store.update_user(user.id, {"active": active, "session_epoch": user.session_epoch + 1})
    action = "user.enable" if active else "user.disable"
    audit.record_in(store, now, actor, action, "user", user.id, {"active": user.active}, {"active": active})


def set_role(store: AccessStore, now: datetime, actor: Actor, user: UserRecord, role: str) -> None:
    """Give the person another role (it applies from their next request)."""
    if role not in ROLES:
        raise AccountRefused(f"unknown role {role!r} (one of: {', '.join(ROLES)})")
    store.update_user(user.id, {"role": role})
    audit.record_in(store, now, actor, "user.role", "user", user.id, {"role": user.role}, {"role": role})


def authenticate(store: AccessStore, login: str, password: str) -> UserRecord | None:
    """The active person with this login (or name) and password, else None (the same time spent either way)."""
    user = store.user_by_login(login.strip()) if login.strip() else None
    if user is None or user.password_hash is None:
        _PASSWORDS.verify(password, _DUMMY_HASH)
        return None
    valid, updated = _PASSWORDS.verify_and_update(password, user.password_hash)
    if not valid or not user.active:
        return None
    if updated is not None:  # pwdlib's parameters moved on since this hash was made: keep the stronger one
        store.update_user(user.id, {"password_hash": updated})
    return user


def issue_token(store: AccessStore, now: datetime, actor: Actor, user: UserRecord, label: str) -> IssuedToken:
    """A new API token for the person, acting with their role; the secret is returned once and never kept."""
    if not user.active:
        raise AccountRefused(f"{user.name}'s sign-in is disabled")
    label = label.strip()[:100] or "API token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    values = {"user_id": user.id, "label": label, "token_hash": digest(secret), "prefix": secret[:12]}
    token_id = store.insert_token({**values, "created_at": now})
    record = store.token_by_hash(values["token_hash"])
    assert record is not None
    audit.record_in(store, now, actor, "token.issue", "user", user.id, after={"token": token_id, "label": label})
    return IssuedToken(record, secret)


def revoke_token(store: AccessStore, now: datetime, actor: Actor, user: UserRecord, token_id: str) -> None:
    """Revoke one of the person's tokens (it stops working at once)."""
    token = next((t for t in store.tokens_of(user.id) if t.id == token_id or t.id.startswith(token_id)), None)
    if token is None:
        raise AccountRefused(f"{user.name} has no token {token_id!r}")
    if token.revoked_at is None:
        store.update_token(token.id, {"revoked_at": now})
        audit.record_in(store, now, actor, "token.revoke", "user", user.id, after={"token": token.id})


def person_for_token(store: AccessStore, now: datetime, secret: str) -> UserRecord | None:
    """The active person an unrevoked API token belongs to, else None; notes when it was last used."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = store.token_by_hash(digest(secret))
    if token is None or token.revoked_at is not None:
        return None
    user = store.user_by_id(token.user_id)
    if user is None or not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        store.update_token(token.id, {"last_used_at": now})
    return user


def create_first_owner(
    store: AccessStore, now: datetime, via: str, name: str, email: str | None, password: str
) -> UserRecord:
    """The shop's first sign-in, an owner: only while nobody has one (``fieldrelay init``, the setup link)."""
    if store.list_users():
        raise AccountRefused("the owner's sign-in exists already: sign in, or ask them to add you")
    return add_user(store, now, Actor(name.strip() or "owner", "owner", via), name, "owner", email, password)
