"""One way to name a record on the command line: a customer, deal, task, referral or error by id, id prefix, phone
(any format), email or name. None found, or more than one, exits 2 with a short list to choose from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Connection

from fieldrelay.cli.common import fail
from fieldrelay.runtime import Runtime
from fieldrelay.storage import lookup
from fieldrelay.storage.lookup import LIMIT as LIMIT
from fieldrelay.storage.lookup import Found
from fieldrelay.storage.ops import errors as error_queue

_HOW = "an id or its first characters, a phone, an email or a name"


class Matcher(Protocol):
    """A storage query for records by their own id prefix or their customers' ids."""

    def __call__(
        self, conn: Connection, account_id: str, *, id_prefix: str | None = ..., customer_ids: Sequence[str] = ...
    ) -> list[Found]: ...


def customers_matching(runtime: Runtime, text: str, narrow: bool = True) -> list[Found]:
    """Every customer ``text`` may mean; with ``narrow`` the one named exactly (full id, whole name) alone if one is."""
    with runtime.engine.connect() as conn:
        return _customers(conn, runtime, text, narrow)


def _customers(conn: Connection, runtime: Runtime, text: str, narrow: bool = True) -> list[Found]:
    settings = runtime.settings
    return lookup.customers_named(conn, settings.account_id, settings.default_phone_region, text, narrow)


def customer(runtime: Runtime, text: str) -> str:
    """The id of the one customer ``text`` names, or exit 2 saying why not."""
    return _one("customer", text, customers_matching(runtime, text))


def deal(runtime: Runtime, text: str) -> str:
    """The one deal ``text`` names: a deal id (prefix), or a customer with one open deal."""
    return _related(runtime, "deal", text, lookup.deals_matching)


def task(runtime: Runtime, text: str) -> str:
    """The one task ``text`` names: a task id (prefix), or a customer with one open task."""
    return _related(runtime, "task", text, lookup.tasks_matching)


def referral(runtime: Runtime, text: str) -> str:
    """The one referral ``text`` names: a referral id (prefix), or the referred customer."""
    return _related(runtime, "referral", text, lookup.referrals_matching)


def error(runtime: Runtime, text: str) -> str:
    """The one open error ``text`` names: its id (``outbox-7``), its number alone, or a customer it is about."""
    text = text.strip()
    account = runtime.settings.account_id
    with runtime.engine.connect() as conn:
        if error_queue.parse_error_id(text.lower()):
            named = [error_queue.get_error(conn, account, text.lower())]
        elif text.isdigit():
            named = [error_queue.get_error(conn, account, f"{kind}-{text}") for kind in error_queue.KINDS]
        else:
            ids = [f.id for f in _customers(conn, runtime, text)]
            named = list(error_queue.errors_of_customers(conn, account, ids)) if ids else []
    found = [Found(item.id, f"{item.source} · {item.summary}") for item in named if item is not None]
    if not found:
        fail(f"No open error matches {text!r} (give an id from `fieldrelay errors list`, its number, or a customer).")
    return _one("open error", text, found)


def _related(runtime: Runtime, kind: str, text: str, match: Matcher) -> str:
    """A deal, task or referral by its own id (prefix) or through the customer ``text`` names."""
    text = text.strip()
    with runtime.engine.connect() as conn:
        people = _customers(conn, runtime, text) if text else []
        ids = [p.id for p in people]
        found = match(conn, runtime.settings.account_id, id_prefix=lookup.id_prefix(text), customer_ids=ids)
    if not found and people:
        who = people[0].name if len(people) == 1 else f"the {len(people)} customers {text!r} names"
        fail(f"No open {kind} for {who}.")
    return _one(kind, text, found)


def _one(kind: str, text: str, found: list[Found]) -> str:
    """The single match, or exit 2 with none or a short list."""
    if len(found) == 1:
        return found[0].id
    if not found:
        fail(f"No {kind} matches {text!r} (give {_HOW}).")
    shown = found[:LIMIT]
    more = " or more" if len(found) > LIMIT else ""
    lines = [f"{text!r} matches {len(shown)}{more} {kind}s; give a longer id, a phone or an email:"]
    lines += [f"  {f.id if f.id.startswith(('inbox-', 'timer-', 'outbox-')) else f.id[:8]}  {f.label}" for f in shown]
    fail("\n".join(lines))
