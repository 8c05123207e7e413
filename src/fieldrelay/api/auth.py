"""Bearer-token authentication for the JSON API (fail closed when no token is configured), and role permissions.

Two kinds of token: a person's (``frp_…``, made on their page in the office app or by ``fieldrelay users token``),
which acts with that person's role and stops at once when revoked or when the person is disabled; and the
deployment's ``FIELDRELAY_API_TOKEN``, the admin token, which may do everything and is recorded as "admin".
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status

from fieldrelay.api.state import runtime_of
from fieldrelay.rules.secrets import api_token
from fieldrelay.service.access import accounts
from fieldrelay.service.access.permissions import Action, Actor, NotAllowed, require
from fieldrelay.storage.access.repo import SqlAccessStore

ADMIN = "admin"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the account they act in and the actor their actions are recorded as."""

    account: str
    actor: Actor

    @property
    def is_admin(self) -> bool:
        """True for the deployment's token."""
        return self.actor.user_id is None

    def by(self, given: str | None) -> str | None:
        """Who a change is signed by: the person's name; for the admin token, the ``by`` the body gives (as before)."""
        return given if self.is_admin else self.actor.name


def _person(request: Request, given: str) -> Actor | None:
    """The actor of a person's token, or None when it is not a live one."""
    runtime = runtime_of(request)
    with runtime.engine.begin() as conn:
        now = runtime.clock.now()
        user = accounts.person_for_token(SqlAccessStore(conn, runtime.settings.account_id, now), now, given)
    return None if user is None else Actor(user.name, user.role, "api", user.id)


def require_caller(request: Request) -> Caller:
    """The caller, or refuse: 503 when the server has no admin token and this is no live person's token, else 401."""
    account: str = runtime_of(request).settings.account_id
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    given = given.strip() if scheme.lower() == "bearer" else ""
    expected = api_token()
    if given and expected and hmac.compare_digest(given, expected):
        return Caller(account, Actor(ADMIN, "owner", "api"))
    person = _person(request, given) if given else None
    if person is not None:
        return Caller(account, person)
    if not expected:
        # Still closed to everyone, but a caller learns the server needs setting up, not that their token is wrong.
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "no API token is configured on this server: set FIELDRELAY_API_TOKEN and restart fieldrelay",
        )
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
    )


def require_token(request: Request) -> str:
    """The caller's account id (any valid token: every role may read), or refuse as ``require_caller`` does."""
    return require_caller(request).account


def allowed_to(action: Action) -> Callable[[Caller], Caller]:
    """A dependency: the caller, when their role may do ``action``; else 403 saying what the role may not do."""

    def check(caller: Caller = Depends(require_caller)) -> Caller:
        try:
            require(caller.actor, action)
        except NotAllowed as exc:
            raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from exc
        return caller

    return check
