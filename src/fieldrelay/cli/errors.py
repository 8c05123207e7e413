"""``fieldrelay errors``: the error queue from a terminal: list, show, retry, dismiss."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fieldrelay.cli import lookup
from fieldrelay.cli.common import ConfigOpt, DbOpt, console, fail, open_runtime
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


@errors_app.command("retry")
def errors_retry(
    error_id: Annotated[str | None, typer.Argument(help="an id from `errors list` (inbox-12), or a customer")] = None,
    all_: Annotated[bool, typer.Option("--all", help="retry every open error")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Put failed work back in line with a fresh retry budget."""
    if (error_id is None) == (not all_):
        fail("give one error id, or --all")
    runtime = open_runtime(db, config, migrate=False)
    now = runtime.clock.now()
    if all_:
        with runtime.engine.begin() as conn:
            count = error_queue.retry_all(conn, runtime.settings.account_id, now)
        console.print(f"{count} put back in line.")
        return
    assert error_id is not None
    found = lookup.error(runtime, error_id)
    with runtime.engine.begin() as conn:
        if not error_queue.retry(conn, runtime.settings.account_id, found, now):
            fail(f"{found} is no longer open.", 1)  # closed between the lookup and now
    console.print(f"{found} put back in line; a running worker will pick it up.")


@errors_app.command("dismiss")
def errors_dismiss(
    error_id: ErrorArg,
    by: Annotated[str | None, typer.Option(help="who closes it")] = None,
    reason: Annotated[str | None, typer.Option(help="why it needs no retry")] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Close an error without retrying it; an outbox row's message is cancelled."""
    runtime = open_runtime(db, config, migrate=False)
    found = lookup.error(runtime, error_id)
    with runtime.engine.begin() as conn:
        if not error_queue.dismiss(conn, runtime.settings.account_id, found, by, reason):
            fail(f"{found} is no longer open.", 1)
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
