"""``fieldrelay users``: who may sign in to the office app, with which role; passwords, setup links and API tokens.

Every change is written to the audit log, signed by ``--as NAME`` (a person with a sign-in who may manage people),
``$FIELDRELAY_USER``, or ``cli:<os user>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from fieldrelay.cli.acting import AsOpt, acting
from fieldrelay.cli.common import ConfigOpt, DbOpt, console, fail, open_runtime
from fieldrelay.runtime import Runtime
from fieldrelay.service import team
from fieldrelay.service.access import accounts
from fieldrelay.service.access.accounts import AccountRefused
from fieldrelay.service.access.permissions import ROLE_LABELS, ROLES, Action, Actor
from fieldrelay.service.access.ports import AccessStore, UserRecord

users_app = typer.Typer(help="People who sign in to the office app: roles, passwords, setup links, API tokens.")
users_app.info.no_args_is_help = True
T = TypeVar("T")

NameArg = Annotated[str, typer.Argument(help="the person's name (as on the team) or login")]
LinkOpt = Annotated[bool, typer.Option("--link", help="print a one-time setup link instead of asking for a password")]


def _say(message: str, style: str | None = None) -> None:
    console.print(message, style=style, markup=False, highlight=False, soft_wrap=True)


def cli_actor(runtime: Runtime, who: str | None) -> Actor:
    """Who makes a change to people and their sign-ins (``fieldrelay.cli.acting``): only the owner and operations."""
    return acting(runtime, who, None, Action.MANAGE_USERS)


def _run(runtime: Runtime, fn: Callable[[AccessStore], T]) -> T:
    """``fn`` on the access store in one unit of work; a refusal is one line and exit 1."""
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            return fn(ctx.store)
    except AccountRefused as exc:
        fail(str(exc), 1)


def ask_password() -> str:
    """A new password, typed twice without echo."""
    password: str = typer.prompt(
        f"Password (at least {accounts.MIN_PASSWORD} characters)", hide_input=True, confirmation_prompt=True
    )
    return password


def setup_url(runtime: Runtime, secret: str) -> str:
    """The setup link for ``secret`` on the shop's public URL (else the local default of serve)."""
    base = (runtime.settings.public_base_url or "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/setup/{secret}"


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="the person's name, as on the team in fieldrelay.yaml")],
    role: Annotated[str, typer.Option("--role", help=f"one of: {', '.join(ROLES)} (office is a CSR)")],
    email: Annotated[str | None, typer.Option("--email", help="their email; they sign in with it")] = None,
    link: LinkOpt = False,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a person who may sign in (asks for their password, or prints a one-time setup link with --link)."""
    runtime = open_runtime(db, config, migrate=False)
    if role not in ROLES:
        fail(f"--role {role!r} is not a role: give one of {', '.join(ROLES)}")
    actor, now = cli_actor(runtime, as_), runtime.clock.now()  # refused before anyone types a password
    password = None if link else ask_password()

    def add(store: AccessStore) -> tuple[UserRecord, str | None]:
        user = accounts.add_user(store, now, actor, name, role, email, password)
        return user, accounts.setup_link_secret(store, now, actor, user) if link else None

    user, secret = _run(runtime, add)
    _say(f"Added {user.name} ({ROLE_LABELS[user.role]}), signing in as {user.login}.")
    if not team.roles_of(runtime.settings, user.name):
        _say(f"{user.name} is not on the team in fieldrelay.yaml: tasks assigned by name will not find them.", "yellow")
    if secret is not None:
        _say(f"Send them this one-time link (valid {accounts.SETUP_HOURS} hours): {setup_url(runtime, secret)}")


@users_app.command("list")
def users_list(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Everyone who may sign in: name, login, role, state, last sign-in."""
    runtime = open_runtime(db, config, migrate=False)
    people = _run(runtime, lambda store: store.list_users())
    if not people:
        _say("Nobody has a sign-in yet: `fieldrelay users add NAME --role owner`, or the link `serve` prints.")
        return
    table = Table(title=f"People ({len(people)})")
    for column in ("name", "login", "role", "state", "last signed in"):
        table.add_column(column)
    for user in people:
        state = "active" if user.active else "disabled"
        state += "" if user.password_hash else ", no password yet"
        last = f"{user.last_signed_in_at:%Y-%m-%d %H:%M} UTC" if user.last_signed_in_at else "never"
        table.add_row(user.name, user.login, ROLE_LABELS[user.role], state, last)
    console.print(table)


def _set_active(name: str, active: bool, as_: str | None, config: ConfigOpt, db: DbOpt) -> None:
    runtime = open_runtime(db, config, migrate=False)
    actor, now = cli_actor(runtime, as_), runtime.clock.now()

    def change(store: AccessStore) -> UserRecord:
        user = accounts.find(store, name)
        accounts.set_active(store, now, actor, user, active)
        return user

    user = _run(runtime, change)
    _say(f"{user.name} is {'enabled' if active else 'disabled: their sessions and API tokens stopped working'}.")


@users_app.command("disable")
def users_disable(name: NameArg, as_: AsOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Disable a person's sign-in: their sessions and API tokens stop working at once."""
    _set_active(name, False, as_, config, db)


@users_app.command("enable")
def users_enable(name: NameArg, as_: AsOpt = None, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Enable a disabled person's sign-in again."""
    _set_active(name, True, as_, config, db)


@users_app.command("reset-password")
def users_reset_password(
    name: NameArg, link: LinkOpt = False, as_: AsOpt = None, config: ConfigOpt = None, db: DbOpt = None
) -> None:
    """Set a new password (asked for), or print a one-time link where they choose one; their sessions end."""
    runtime = open_runtime(db, config, migrate=False)
    actor, now = cli_actor(runtime, as_), runtime.clock.now()
    password = None if link else ask_password()

    def reset(store: AccessStore) -> str | None:
        user = accounts.find(store, name)
        if password is not None:
            accounts.set_password(store, now, actor, user, password)
            return None
        store.update_user(user.id, {"session_epoch": user.session_epoch + 1})
        return accounts.setup_link_secret(store, now, actor, user)

    secret = _run(runtime, reset)
    if secret is None:
        _say("Password changed; their other sessions ended.")
    else:
        _say(f"Their sessions ended. One-time link (valid {accounts.SETUP_HOURS} hours): {setup_url(runtime, secret)}")


@users_app.command("token")
def users_token(
    name: NameArg,
    label: Annotated[str, typer.Option("--label", help="what it is for, e.g. Zapier")] = "API token",
    as_: AsOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Make an API token acting as the person (with their role); it is printed once and never stored."""
    runtime = open_runtime(db, config, migrate=False)
    actor, now = cli_actor(runtime, as_), runtime.clock.now()
    issued = _run(runtime, lambda store: accounts.issue_token(store, now, actor, accounts.find(store, name), label))
    _say(f"Token {issued.record.id[:8]} ({issued.record.label}); copy it now, it is not shown again:")
    typer.echo(issued.secret)


@users_app.command("revoke-token")
def users_revoke_token(
    name: NameArg,
    token_id: Annotated[str, typer.Argument(help="the token's id (or its start), as `users token` printed it")],
    as_: AsOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Revoke one of a person's API tokens: it stops working at once."""
    runtime = open_runtime(db, config, migrate=False)
    actor, now = cli_actor(runtime, as_), runtime.clock.now()
    _run(runtime, lambda store: accounts.revoke_token(store, now, actor, accounts.find(store, name), token_id))
    _say("Revoked.")


def create_owner(runtime: Runtime, name: str, email: str | None) -> UserRecord:
    """The shop's first owner, with a password asked for (``fieldrelay init --owner``)."""
    password = ask_password()
    now = runtime.clock.now()
    return _run(runtime, lambda store: accounts.create_first_owner(store, now, "cli", name, email, password))
