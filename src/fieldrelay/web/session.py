"""Signed session cookies and CSRF tokens.

The cookie holds the person's id, their session epoch (raised when they are disabled, change password or sign out, so
an old cookie is void at once) and a random CSRF token, signed with itsdangerous. Anonymous visitors get a session too,
holding only a CSRF token, so the sign-in form is protected like every other form.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field, replace

from fastapi import Request, Response
from itsdangerous import BadSignature

from fieldrelay.web.state import runtime_of, web_state

COOKIE = "fieldrelay_session"
MAX_AGE = 14 * 24 * 3600  # two weeks: a phone in the van should not ask every morning
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_PURPOSE = "session"


@dataclass(frozen=True)
class Session:
    """One browser's session: who signed in (None: nobody yet), their epoch, the CSRF token; ``fresh``: not yet sent."""

    user_id: str | None = None
    epoch: int = 0
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    fresh: bool = True

    def signed_in_as(self, user_id: str, epoch: int) -> Session:
        """The session after signing in: a new CSRF token too, so one handed out before sign-in is worth nothing."""
        return Session(user_id, epoch)

    def signed_out(self) -> Session:
        """An anonymous session."""
        return Session()


def read(request: Request) -> Session:
    """The request's session (cached on the request); a new anonymous one when the cookie is missing or forged."""
    cached = getattr(request.state, "session", None)
    if isinstance(cached, Session):
        return cached
    session = Session()
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = web_state(request).signer(_PURPOSE).loads(raw, max_age=MAX_AGE)
            session = Session(data.get("u"), int(data.get("e", 0)), str(data["c"]), fresh=False)
        except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
            session = Session()
    request.state.session = session
    return session


def _secure(request: Request) -> bool:
    """Secure cookies when the request came over https, or the shop's public URL is https (behind a proxy)."""
    public = runtime_of(request).settings.public_base_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def write(request: Request, response: Response, session: Session) -> None:
    """Set the session cookie on ``response`` (HttpOnly, SameSite=Lax, Secure behind TLS)."""
    request.state.session = replace(session, fresh=False)
    value = web_state(request).signer(_PURPOSE).dumps({"u": session.user_id, "e": session.epoch, "c": session.csrf})
    response.set_cookie(
        COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="lax", secure=_secure(request), path="/"
    )


def keep(request: Request, response: Response) -> Response:
    """Send the session cookie when the session was made by this request (its CSRF token must reach the browser)."""
    session = read(request)
    if session.fresh:
        write(request, response, session)
    return response


def csrf_ok(request: Request, given: str | None) -> bool:
    """True when ``given`` (form field or header) is this session's CSRF token."""
    session = read(request)
    return bool(given) and not session.fresh and hmac.compare_digest(str(given), session.csrf)
