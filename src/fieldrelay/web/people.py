"""People: who may sign in and with which role (owner and operations), and each person's own page with their API
tokens (shown once when made, revocable)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from fieldrelay.service.access import accounts
from fieldrelay.service.access.accounts import AccountRefused
from fieldrelay.service.access.permissions import ROLES, Action
from fieldrelay.service.access.ports import AccessStore, UserRecord
from fieldrelay.storage.access.repo import SqlAccessStore
from fieldrelay.web import render
from fieldrelay.web.guard import PageForbidden, Person, allowed_to, signed_in
from fieldrelay.web.state import runtime_of

router = APIRouter()
T = TypeVar("T")


def base_url(request: Request) -> str:
    """The shop's public URL when configured (links sent to people), else the one this request came to."""
    public = runtime_of(request).settings.public_base_url
    return (public or str(request.base_url)).rstrip("/")


def _people_page(request: Request, person: Person, status: int = 200, **context: object) -> HTMLResponse:
    runtime = runtime_of(request)
    with runtime.engine.begin() as conn:
        people = SqlAccessStore(conn, runtime.settings.account_id, runtime.clock.now()).list_users()
    team = [member.name for member in runtime.settings.team]
    context = {"people": people, "roles": ROLES, "team": team, **context}
    return render.page(request, "people.html", person, status=status, **context)


def _person_page(request: Request, person: Person, user_id: str, status: int = 200, **context: object) -> HTMLResponse:
    if person.user.id != user_id and not person.may(Action.MANAGE_USERS):
        raise PageForbidden("Only the owner and operations may see other people's sign-ins.", person)
    runtime = runtime_of(request)
    with runtime.engine.begin() as conn:
        store = SqlAccessStore(conn, runtime.settings.account_id, runtime.clock.now())
        user = store.user_by_id(user_id)
        tokens = store.tokens_of(user_id) if user else []
    if user is None:
        return render.error_page(request, 404, "Nobody here", "There is no such person.")
    context = {"who": user, "tokens": tokens, "roles": ROLES, "manage": person.may(Action.MANAGE_USERS), **context}
    return render.page(request, "person.html", person, status=status, **context)


def _with_store(request: Request, fn: Callable[[AccessStore], T]) -> T:
    """Run ``fn`` on the access store in one unit of work (the audit entry it writes commits with it)."""
    runtime = runtime_of(request)
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        return fn(ctx.store)


def _on(request: Request, user_id: str, fn: Callable[[AccessStore, UserRecord], T]) -> T:
    """Run ``fn`` on one person in one unit of work; AccountRefused when there is no such person."""

    def act(store: AccessStore) -> T:
        user = store.user_by_id(user_id)
        if user is None:
            raise AccountRefused("there is no such person")
        return fn(store, user)

    return _with_store(request, act)


@router.get("/people", response_class=HTMLResponse)
def people(request: Request, person: Person = Depends(allowed_to(Action.MANAGE_USERS))) -> HTMLResponse:
    """Everyone with a sign-in, and the form to add someone."""
    return _people_page(request, person)


@router.post("/people", response_class=HTMLResponse)
def add_person(
    request: Request,
    name: str = Form("", max_length=100),
    email: str = Form("", max_length=254),
    role: str = Form("", max_length=32),
    person: Person = Depends(allowed_to(Action.MANAGE_USERS)),
) -> HTMLResponse:
    """Add someone without a password; their one-time setup link is shown once."""
    now = runtime_of(request).clock.now()

    def add(store: AccessStore) -> tuple[UserRecord, str]:
        user = accounts.add_user(store, now, person.actor, name, role, email or None)
        return user, accounts.setup_link_secret(store, now, person.actor, user)

    try:
        user, secret = _with_store(request, add)
    except AccountRefused as exc:
        return _people_page(request, person, 422, error=str(exc), name=name, email=email, role=role)
    link = f"{base_url(request)}/setup/{secret}"
    return _person_page(request, person, user.id, setup_link=link, flash=f"{user.name} can now set a password.")


@router.get("/people/{user_id}", response_class=HTMLResponse)
def person_page(request: Request, user_id: str, person: Person = Depends(signed_in)) -> HTMLResponse:
    """One person: role, state, API tokens (their own page for anyone; others' for the owner and operations)."""
    return _person_page(request, person, user_id)


@router.post("/people/{user_id}/tokens", response_class=HTMLResponse)
def new_token(
    request: Request, user_id: str, label: str = Form("", max_length=100), person: Person = Depends(signed_in)
) -> HTMLResponse:
    """A new API token for the person, shown once."""
    if person.user.id != user_id and not person.may(Action.MANAGE_USERS):
        raise PageForbidden("Only the owner and operations may make tokens for others.", person)
    now = runtime_of(request).clock.now()
    try:
        issued = _on(request, user_id, lambda store, user: accounts.issue_token(store, now, person.actor, user, label))
    except AccountRefused as exc:
        return _person_page(request, person, user_id, 422, error=str(exc))
    return _person_page(request, person, user_id, new_token=issued.secret)


@router.post("/people/{user_id}/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke(request: Request, user_id: str, token_id: str, person: Person = Depends(signed_in)) -> HTMLResponse:
    """Revoke one of the person's tokens."""
    if person.user.id != user_id and not person.may(Action.MANAGE_USERS):
        raise PageForbidden("Only the owner and operations may revoke others' tokens.", person)
    now = runtime_of(request).clock.now()
    try:
        _on(request, user_id, lambda store, user: accounts.revoke_token(store, now, person.actor, user, token_id))
    except AccountRefused as exc:
        return _person_page(request, person, user_id, 422, error=str(exc))
    return _person_page(request, person, user_id, flash="Token revoked: it no longer works.")


@router.post("/people/{user_id}/active", response_class=HTMLResponse)
def set_active(
    request: Request,
    user_id: str,
    active: str = Form("", max_length=5),
    person: Person = Depends(allowed_to(Action.MANAGE_USERS)),
) -> HTMLResponse:
    """Disable (sessions and tokens stop at once) or enable a person."""
    now, on = runtime_of(request).clock.now(), active == "true"
    try:
        _on(request, user_id, lambda store, user: accounts.set_active(store, now, person.actor, user, on))
    except AccountRefused as exc:
        return _person_page(request, person, user_id, 422, error=str(exc))
    return _person_page(request, person, user_id, flash="Enabled." if on else "Disabled: signed out everywhere.")


@router.post("/people/{user_id}/role", response_class=HTMLResponse)
def set_role(
    request: Request,
    user_id: str,
    role: str = Form("", max_length=32),
    person: Person = Depends(allowed_to(Action.MANAGE_USERS)),
) -> HTMLResponse:
    """Give the person another role."""
    now = runtime_of(request).clock.now()
    try:
        _on(request, user_id, lambda store, user: accounts.set_role(store, now, person.actor, user, role))
    except AccountRefused as exc:
        return _person_page(request, person, user_id, 422, error=str(exc))
    return _person_page(request, person, user_id, flash="Role changed.")


@router.post("/people/{user_id}/setup-link", response_class=HTMLResponse)
def setup_link(
    request: Request, user_id: str, person: Person = Depends(allowed_to(Action.MANAGE_USERS))
) -> HTMLResponse:
    """A new one-time link for the person to set a (new) password, shown once."""
    now = runtime_of(request).clock.now()
    try:
        secret = _on(request, user_id, lambda store, user: accounts.setup_link_secret(store, now, person.actor, user))
    except AccountRefused as exc:
        return _person_page(request, person, user_id, 422, error=str(exc))
    return _person_page(request, person, user_id, setup_link=f"{base_url(request)}/setup/{secret}")
