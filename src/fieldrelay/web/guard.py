"""Who is asking: the signed-in person (or a redirect to sign in), their role's permission, and the CSRF check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from fieldrelay.service.access.permissions import WORDS, Action, Actor, can
from fieldrelay.service.access.ports import UserRecord
from fieldrelay.storage.access.repo import SqlAccessStore
from fieldrelay.web import render, session
from fieldrelay.web.state import runtime_of

_SAFE = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Person:
    """The signed-in person and the actor their actions are recorded as."""

    user: UserRecord
    actor: Actor

    def may(self, action: Action) -> bool:
        """True when their role may do ``action``."""
        return can(self.user.role, action)


class SignInRequired(Exception):
    """Nobody is signed in (or the session is void): pages redirect to the sign-in page."""


class PageForbidden(Exception):
    """Signed in, but the role may not do this; ``person`` (when known) keeps their menu on the 403 page."""

    def __init__(self, message: str, person: Person | None = None) -> None:
        super().__init__(message)
        self.person = person


class CsrfRefused(Exception):
    """A state-changing request without this session's CSRF token."""


def signed_in(request: Request) -> Person:
    """The signed-in, active person whose session epoch is current; else SignInRequired."""
    found = session.read(request)
    if found.user_id is None:
        raise SignInRequired
    runtime = runtime_of(request)
    with runtime.engine.begin() as conn:
        user = SqlAccessStore(conn, runtime.settings.account_id, runtime.clock.now()).user_by_id(found.user_id)
    # Disabled, a new password or signed out elsewhere: the epoch moved on and this cookie is void from now on.
    if user is None or not user.active or user.session_epoch != found.epoch:
        raise SignInRequired
    return Person(user, Actor(user.name, user.role, "web", user.id))


def allowed_to(action: Action) -> Callable[[Person], Person]:
    """A dependency: the signed-in person, when their role may do ``action``; else a 403 page."""

    def check(person: Person = Depends(signed_in)) -> Person:
        if not person.may(action):
            raise PageForbidden(f"Your role may not {WORDS[action]}.", person)
        return person

    return check


async def csrf_protect(request: Request) -> None:
    """Refuse (403) a POST whose CSRF token (the X-CSRF-Token header htmx sends, or the form field) is not the
    session's."""
    if request.method in _SAFE:
        return
    given = request.headers.get(session.CSRF_HEADER)
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(session.CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not session.csrf_ok(request, given):
        raise CsrfRefused


def to_sign_in(request: Request, _exc: Exception) -> Response:
    """Pages: 303 to the sign-in page, coming back here after; htmx: 401 with HX-Redirect (a full-page redirect)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/signin" if request.method != "GET" or here == "/" else f"/signin?next={quote(here)}"
    if request.headers.get("hx-request"):
        return PlainTextResponse("Please sign in.", status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def forbidden(request: Request, exc: Exception) -> Response:
    """A 403 page saying what the role may not do."""
    person = exc.person if isinstance(exc, PageForbidden) else None
    return render.error_page(request, 403, "Not for your role", str(exc) or "Your role may not do this.", person)


def csrf_refused(_request: Request, _exc: Exception) -> Response:
    """A 403 that tells a person what to do."""
    text = "This form has expired or did not come from this site. Go back, reload the page and try again."
    return HTMLResponse(f"<!doctype html><title>Refused</title><p>{text}</p>", status_code=403)
