"""``fieldrelay audit``: who did what and when (every human action, from the web, the API and the CLI)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from fieldrelay.cli.common import ConfigOpt, DbOpt, console, fail, open_runtime
from fieldrelay.storage.access.queries import list_audit
from fieldrelay.storage.ops.errors import parse_age


def _since(raw: str | None, now: datetime) -> datetime | None:
    """``7d`` / ``2h`` back from now, or an ISO 8601 time (UTC when no zone is given)."""
    if raw is None:
        return None
    try:
        return now - parse_age(raw)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        fail(f"--since {raw!r}: give a duration like 30m, 2h or 7d, or an ISO 8601 time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def audit(
    since: Annotated[str | None, typer.Option("--since", help="how far back: 2h, 7d, or an ISO 8601 time")] = None,
    who: Annotated[str | None, typer.Option("--who", help="one person's actions (their name, or admin)")] = None,
    action: Annotated[str | None, typer.Option("--action", help="an action, or its start: user.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """The audit log, newest first: when, who (and through what), the action, its subject, before → after."""
    runtime = open_runtime(db, config, migrate=False)
    start = _since(since, runtime.clock.now())
    with runtime.engine.connect() as conn:
        entries = list_audit(conn, runtime.settings.account_id, since=start, who=who, action=action, limit=limit)
    if as_json:
        for e in entries:
            row = {"at": e.at.isoformat(), "who": e.actor, "role": e.actor_role, "via": e.via, "action": e.action}
            typer.echo(
                json.dumps({**row, "subject": [e.subject_type, e.subject_id], "before": e.before, "after": e.after})
            )
        return
    if not entries:
        console.print("Nothing recorded." if not (since or who or action) else "Nothing matches.", markup=False)
        return
    table = Table(title=f"Audit log ({len(entries)})")
    for column in ("when (UTC)", "who", "action", "subject", "change"):
        table.add_column(column)
    for e in entries:
        table.add_row(f"{e.at:%Y-%m-%d %H:%M:%S}", f"{e.actor} ({e.via})", e.action, e.subject, e.change)
    console.print(table)
