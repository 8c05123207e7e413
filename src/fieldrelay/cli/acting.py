"""Who acts in a command that changes the shop's data, and whether their role may: ``--as NAME``, else
``$FIELDRELAY_USER``, else the machine's operator ``cli:<os user>``.

A person named must have an active sign-in (exit 2 otherwise); their role is checked against the permission table
(exit 1 when it may not). The operator holds the database, so it acts as admin, like the API's environment token.
``--by`` is the hidden, deprecated old name of ``--as``: a name nobody signs in with is still taken as given (with the
operator's powers), so scripts written before sign-ins keep working.
"""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from fieldrelay.cli.common import fail
from fieldrelay.runtime import Runtime
from fieldrelay.service.access.permissions import Action, Actor, NotAllowed, require
from fieldrelay.service.access.ports import UserRecord
from fieldrelay.storage.access.repo import SqlAccessStore

USER_ENV = "FIELDRELAY_USER"

AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        help=f"who acts: a person with a sign-in (default: ${USER_ENV}, else cli:<your login>)",
        show_default=False,
    ),
]
ByOpt = Annotated[str | None, typer.Option("--by", hidden=True, help="deprecated: the old name of --as")]


def operator() -> Actor:
    """The machine's operator (the shop's technical helper, who holds the database): may do everything."""
    return Actor(f"cli:{getpass.getuser()}", "owner", "cli")


def _named(as_: str | None, by: str | None) -> tuple[str, str] | None:
    """(the name given, where it came from), or None when nobody is named."""
    if as_ is not None and by is not None and as_.strip().lower() != by.strip().lower():
        fail("give --as NAME only (--by is its old name)")
    for name, source in ((as_, "--as"), (by, "--by"), (os.environ.get(USER_ENV), USER_ENV)):
        if name is not None and name.strip():
            return name.strip(), source
    return None


def _lookup(runtime: Runtime, name: str) -> tuple[UserRecord | None, list[str]]:
    """The person with this name or login (if any), and everyone's names for the message when there is none."""
    with runtime.engine.connect() as conn:
        store = SqlAccessStore(conn, runtime.settings.account_id, runtime.clock.now())
        user = store.user_by_login(name)
        return user, [] if user is not None else [u.name for u in store.list_users() if u.active]


def acting(runtime: Runtime, as_: str | None, by: str | None, *actions: Action) -> Actor:
    """The actor a command is done and audited as; exit 2 for an unknown or disabled person, 1 when not allowed."""
    named = _named(as_, by)
    if named is None:
        actor = operator()
    else:
        name, source = named
        user, people = _lookup(runtime, name)
        if user is None and source == "--by":
            actor = Actor(name[:100], "owner", "cli")  # the old free text, signed by what the operator typed
        elif user is None:
            unset = f"; set {USER_ENV} to one of them, or unset it" if source == USER_ENV else ""
            fail(f"{source} {name!r}: nobody by that name has a sign-in (people: {', '.join(people) or 'none'}){unset}")
        elif not user.active:
            fail(f"{source} {name!r}: {user.name}'s sign-in is disabled")
        else:
            actor = Actor(user.name, user.role, "cli", user.id)
    for action in actions:
        try:
            require(actor, action)
        except NotAllowed as exc:
            fail(str(exc), 1)
    return actor
