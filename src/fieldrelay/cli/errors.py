"""``fieldrelay errors``: the error queue from a terminal: list, show, retry, dismiss."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Connection

from fieldrelay.cli import lookup
from fieldrelay.cli.acting import AsOpt, ByOpt, acting
from fieldrelay.cli.common import ConfigOpt, DbOpt, console, fail, open_runtime
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action, Actor
from fieldrelay.storage.access.repo import SqlAccessStore
from fieldrelay.storage.ops import errors as error_queue

errors_app = typer.Typer(help="The error queue: what failed and needs a person.", no_args_is_help=True)

ErrorArg = Annotated[str, typer.Argument(help="an id from `errors list` (outbox-7), its number, or a customer")]


@errors_app.command("list")
def errors_list(
    config: ConfigOpt = None,
    db: DbOpt = None,
    kind: Annotated[str | None, typer.Option(help="inbox, timer or outbox")] = None,
    source: Annotated[str | None, typer.Option(help="connector, timer kind or outbox target")] = None,
    target: Annotated[str | None, typer.Option(help="deliveries to one target: sms, email, hubspot …")] = None,
    older_than: Annotated[str | None, typer.Option(help="only items at least this old: 30m, 2h, 7d")] = None,
) -> None:
    """List what failed and waits for a person."""
    if kind is not None and kind not in error_queue.KINDS:
        *first, last = error_queue.KINDS
        fail(f"--kind {kind!r} is not a kind of error: give {', '.join(first)} or {last}")
    try:
        age = None if older_than is None else error_queue.parse_age(older_than)
    except ValueError as exc:
        fail(f"--older-than: {exc}")
    runtime = open_runtime(db, config, migrate=False)
    with runtime.engine.connect() as conn:
        items = error_queue.list_errors(
            conn,
            runtime.settings.account_id,
            kind,
            source=source,
            target=target,
            older_than=age,
            now=runtime.clock.now(),
        )
    if not items:
        console.print("[green]The error queue is empty.[/]")
        return
    table = Table(title=f"Error queue ({len(items)})")
    for column in ("id", "source", "what", "error", "tries", "since"):
        table.add_column(column)
    for item in items:
        table.add_row(
            item.id, item.source, item.summary, item.error or "", str(item.attempts), f"{item.at:%Y-%m-%d %H:%M}Z"
        )
    console.print(table)


def _retried(conn: Connection, account: str, now: datetime, actor: Actor, error_id: str) -> bool:
    """Retry one open error and write its audit entry (the error it had before) on ``conn``; False when not open."""
    item = error_queue.get_error(conn, account, error_id)
    if item is None or not error_queue.retry(conn, account, error_id, now):
        return False
    before = {"error": item.error, "tries": item.attempts}
    audit.record_in(
        SqlAccessStore(conn, account, now),
        now,
        actor,
        Action.RETRY_ERROR,
        "error",
        error_id,
        before,
        {"status": "pending"},
    )
    return True


@errors_app.command("retry")
def errors_retry(
    error_id: Annotated[str | None, typer.Argument(help="an id from `errors list` (inbox-12), or a customer")] = None,
    all_: Annotated[bool, typer.Option("--all", help="retry every open error")] = False,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Put failed work back in line with a fresh retry budget."""
    if (error_id is None) == (not all_):
        fail("give one error id, or --all")
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, None, Action.RETRY_ERROR)
    now, account = runtime.clock.now(), runtime.settings.account_id
    if all_:
        with runtime.engine.begin() as conn:  # one entry per error, all in the one transaction of the retries
            count = sum(_retried(conn, account, now, actor, item.id) for item in error_queue.list_errors(conn, account))
        console.print(f"{count} put back in line.")
        return
    assert error_id is not None
    found = lookup.error(runtime, error_id)
    with runtime.engine.begin() as conn:
        if not _retried(conn, account, now, actor, found):
            fail(f"{found} is no longer open.", 1)  # closed between the lookup and now
    console.print(f"{found} put back in line; a running worker will pick it up.")


@errors_app.command("dismiss")
def errors_dismiss(
    error_id: ErrorArg,
    reason: Annotated[str | None, typer.Option(help="why it needs no retry")] = None,
    as_: AsOpt = None,
    by: ByOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Close an error without retrying it; an outbox row's message is cancelled."""
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.DISMISS_ERROR)
    found = lookup.error(runtime, error_id)
    now, account = runtime.clock.now(), runtime.settings.account_id
    with runtime.engine.begin() as conn:
        item = error_queue.get_error(conn, account, found)
        if item is None or not error_queue.dismiss(conn, account, found, actor.name, reason):
            fail(f"{found} is no longer open.", 1)
        before, after = {"error": item.error, "tries": item.attempts}, {"status": "dismissed", "reason": reason}
        audit.record_in(
            SqlAccessStore(conn, account, now), now, actor, Action.DISMISS_ERROR, "error", found, before, after
        )
    console.print(f"{found} dismissed.")


@errors_app.command("show")
def errors_show(error_id: ErrorArg, config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Show one open error and its delivery attempts."""
    runtime = open_runtime(db, config, migrate=False)
    found = lookup.error(runtime, error_id)
    with runtime.engine.connect() as conn:
        detail = error_queue.error_detail(conn, runtime.settings.account_id, found)
    if detail is None:
        fail(f"{found} is no longer open.", 1)
    item = Table(title=found, show_header=False)
    for key, value in detail.items():
        if key not in ("id", "attempts"):
            item.add_row(key, "" if value is None else str(value))
    console.print(item)
    if not detail["attempts"]:
        return
    attempts = Table(title="Delivery attempts")
    for column in ("#", "started", "ms", "outcome", "status", "detail"):
        attempts.add_column(column)
    for a in detail["attempts"]:
        attempts.add_row(
            str(a["attempt"]),
            a["started_at"],
            str(a["duration_ms"]),
            a["outcome"],
            str(a["status_code"] or ""),
            a["detail"] or "",
        )
    console.print(attempts)
