"""Sign-in and sign-out: the password checked against its argon2 hash, throttled per login and per client."""

from __future__ import annotations

import time

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fieldrelay.service.access import accounts, audit
from fieldrelay.service.access.permissions import Actor
from fieldrelay.web import render, session
from fieldrelay.web.guard import Person, SignInRequired, signed_in
from fieldrelay.web.state import runtime_of, web_state

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never ``//elsewhere`` or a full URL)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _form(request: Request, status: int = 200, **context: object) -> HTMLResponse:
    return render.page(request, "signin.html", None, status=status, **context)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return _form(request, next=safe_next(next), login="")


@router.post("/signin", response_model=None)
def signin(
    request: Request,
    login: str = Form("", max_length=254),
    password: str = Form("", max_length=1000),
    next: str = Form("/", max_length=2000),
) -> Response:
    """Check the password; a few failures a minute per login or per client, then a wait."""
    throttle = web_state(request).throttle
    client = request.client.host if request.client else "unknown"
    keys = (f"login:{login.strip().lower()}", f"client:{client}")
    wait = throttle.wait_seconds(keys, time.monotonic())
    if wait:
        message = f"Too many tries. Wait {wait} seconds, then try again."
        return _form(request, 429, next=safe_next(next), login=login, error=message)
    runtime = runtime_of(request)
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        user = accounts.authenticate(ctx.store, login, password)
        if user is not None:
            ctx.store.update_user(user.id, {"last_signed_in_at": ctx.now})
            audit.record(ctx, Actor(user.name, user.role, "web", user.id), "sign_in", "user", user.id)
    if user is None:
        throttle.failed(keys, time.monotonic())
        error = "That sign-in and password do not match an active account."
        return _form(request, 401, next=safe_next(next), login=login, error=error)
    throttle.succeeded(keys[0])
    response = RedirectResponse(safe_next(next), status_code=303)
    session.write(request, response, session.read(request).signed_in_as(user.id, user.session_epoch))
    return response


@router.post("/signout", response_model=None)
def signout(request: Request) -> Response:
    """Sign out here and on every other device (the session epoch moves on)."""
    try:
        person: Person | None = signed_in(request)
    except SignInRequired:  # already signed out, or the session is void: signing out again is fine
        person = None
    if person is not None:
        runtime = runtime_of(request)
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            ctx.store.update_user(person.user.id, {"session_epoch": person.user.session_epoch + 1})
            audit.record(ctx, person.actor, "sign_out", "user", person.user.id)
    response = RedirectResponse("/signin", status_code=303)
    session.write(request, response, session.read(request).signed_out())
    return response
