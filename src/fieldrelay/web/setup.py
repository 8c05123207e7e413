"""Setting a password from a link: the shop's first owner (a signed, expiring link ``serve`` prints while nobody has a
sign-in) and a person added without one (a one-time link from ``fieldrelay users add --link`` or the People page)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature

from fieldrelay.runtime import Runtime
from fieldrelay.service.access import accounts
from fieldrelay.service.access.accounts import AccountRefused
from fieldrelay.service.access.permissions import Actor
from fieldrelay.service.access.ports import UserRecord
from fieldrelay.storage.access.repo import SqlAccessStore
from fieldrelay.web import render, session
from fieldrelay.web.state import WebState, runtime_of, web_state

router = APIRouter()
OWNER_LINK_HOURS = 24
_OWNER = "owner-setup"


def nobody_yet(runtime: Runtime) -> bool:
    """True while no one has a sign-in (the owner's setup link works only then)."""
    with runtime.engine.begin() as conn:
        return not SqlAccessStore(conn, runtime.settings.account_id, runtime.clock.now()).list_users()


def owner_setup_link(app: FastAPI, base_url: str) -> str | None:
    """The link that creates the first owner, or None when someone has a sign-in already (printed by ``serve``)."""
    state: WebState = app.state.web
    if not nobody_yet(app.state.runtime):
        return None
    token = state.signer(_OWNER).dumps("owner")
    return f"{base_url.rstrip('/')}/setup/owner?token={token}"


def _owner_token_ok(request: Request, token: str) -> bool:
    try:
        web_state(request).signer(_OWNER).loads(token, max_age=OWNER_LINK_HOURS * 3600)
    except BadSignature:
        return False
    return True


def _signed_in_as(request: Request, user: UserRecord) -> Response:
    response = RedirectResponse("/", status_code=303)
    session.write(request, response, session.read(request).signed_in_as(user.id, user.session_epoch))
    return response


def _expired(request: Request) -> HTMLResponse:
    message = "This link has expired or was used already. Ask the shop's owner for a new one."
    return render.error_page(request, 410, "Link expired", message)


@router.get("/setup/owner", response_class=HTMLResponse)
def owner_form(request: Request, token: str = "") -> HTMLResponse:
    """The form that creates the owner's sign-in."""
    if not _owner_token_ok(request, token) or not nobody_yet(runtime_of(request)):
        return _expired(request)
    team = [member.name for member in runtime_of(request).settings.team]
    return render.page(request, "setup_owner.html", None, token=token, team=team, name="", email="")


@router.post("/setup/owner", response_model=None)
def create_owner(
    request: Request,
    token: str = Form(""),
    name: str = Form("", max_length=100),
    email: str = Form("", max_length=254),
    password: str = Form("", max_length=1000),
    confirm: str = Form("", max_length=1000),
) -> Response:
    """Create the owner and sign them in."""
    if not _owner_token_ok(request, token):
        return _expired(request)
    runtime = runtime_of(request)
    team = [member.name for member in runtime.settings.team]
    try:
        if password != confirm:
            raise AccountRefused("the two passwords differ")
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            user = accounts.create_first_owner(ctx.store, ctx.now, "web", name, email or None, password)
    except AccountRefused as exc:
        context = {"token": token, "team": team, "name": name, "email": email, "error": str(exc)}
        return render.page(request, "setup_owner.html", None, status=422, **context)
    return _signed_in_as(request, user)


@router.get("/setup/{secret}", response_class=HTMLResponse)
def password_form(request: Request, secret: str) -> HTMLResponse:
    """The form where a person added without a password chooses one."""
    runtime = runtime_of(request)
    with runtime.engine.begin() as conn:
        store = SqlAccessStore(conn, runtime.settings.account_id, runtime.clock.now())
        user = accounts.user_for_setup(store, runtime.clock.now(), secret)
    if user is None:
        return _expired(request)
    return render.page(request, "setup_password.html", None, who=user, secret=secret)


@router.post("/setup/{secret}", response_model=None)
def choose_password(
    request: Request,
    secret: str,
    password: str = Form("", max_length=1000),
    confirm: str = Form("", max_length=1000),
) -> Response:
    """Set the password, end the link, and sign the person in."""
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            user = accounts.user_for_setup(ctx.store, ctx.now, secret)
            if user is None:
                return _expired(request)
            if password != confirm:
                raise AccountRefused("the two passwords differ")
            accounts.set_password(ctx.store, ctx.now, Actor(user.name, user.role, "web", user.id), user, password)
            user = ctx.store.user_by_id(user.id)
    except AccountRefused as exc:
        return render.page(request, "setup_password.html", None, status=422, who=user, secret=secret, error=str(exc))
    assert user is not None
    return _signed_in_as(request, user)
