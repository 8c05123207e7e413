"""``fieldrelay tasks``: the tasks people owe (theirs, overdue, of one kind) and closing one with an outcome."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from fieldrelay.cli import lookup
from fieldrelay.cli.acting import AsOpt, ByOpt, acting
from fieldrelay.cli.common import ConfigOpt, DbOpt, console, fail, open_runtime
from fieldrelay.service import team
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.handoff.first_response import HandoffRefused
from fieldrelay.service.tasks import closing
from fieldrelay.service.tasks.closing import OutcomeRefused, TaskClosed
from fieldrelay.storage.tasks import queries as task_queries
from fieldrelay.storage.tasks.queries import SHORT, TaskView

tasks_app = typer.Typer(help="Tasks for people: who owes what by when, and closing one with an outcome.")
tasks_app.info.no_args_is_help = True


def _say(message: str, style: str | None = None) -> None:
    """One line as given: no Rich markup, no wrapping (ids and kinds stay whole)."""
    console.print(message, style=style, markup=False, highlight=False, soft_wrap=True)


@tasks_app.command("list")
def tasks_list(
    mine: Annotated[str | None, typer.Option("--mine", help="a person (or role): theirs and escalated to them")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="only open tasks past their due time")] = False,
    kind: Annotated[str | None, typer.Option("--kind", help="a kind, or the kinds under it: sop.followup")] = None,
    all_: Annotated[bool, typer.Option("--all", help="closed and cancelled tasks too")] = False,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Open tasks, soonest due first: short id, kind, what and for whom, owner, due time (overdue flagged)."""
    runtime = open_runtime(db, config, migrate=False)
    settings = runtime.settings
    with runtime.engine.connect() as conn:
        items = task_queries.list_tasks(
            conn,
            settings.account_id,
            runtime.clock.now(),
            status=None if all_ else "open",
            mine=mine,
            mine_roles=team.roles_of(settings, mine) if mine else (),
            overdue=overdue,
            kind=kind,
        )
    if not items:
        _say("No tasks match." if (mine or overdue or kind or all_) else "No open tasks.")
        return
    _print(items, ZoneInfo(settings.business.time_zone), with_status=all_)


def _print(items: list[TaskView], zone: ZoneInfo, with_status: bool) -> None:
    """The tasks as a Rich table in shop time."""
    late = sum(item.overdue for item in items)
    table = Table(title=f"Tasks ({len(items)}, {late} overdue)")
    table.add_column("id", no_wrap=True)  # what `tasks done` takes
    table.add_column("kind", no_wrap=True)
    table.add_column("task / customer")
    table.add_column("owner")
    table.add_column("due")
    if with_status:
        table.add_column("status")
    for item in items:
        owner = item.owner + (f"\n→ {item.escalated_to}" if item.escalated_to else "")
        due = f"{item.due_at.astimezone(zone):%a %b %-d %H:%M}" + ("\n[red]OVERDUE[/]" if item.overdue else "")
        cells = [item.id[:SHORT], item.kind, f"{item.title}\n{item.customer_name}", owner, due]
        if with_status:
            cells.append(item.status + (f": {item.outcome}" if item.outcome else ""))
        table.add_row(*cells)
    console.print(table)


@tasks_app.command("done")
def tasks_done(
    task: Annotated[str, typer.Argument(help="the short id `tasks list` prints (or a customer with one open task)")],
    outcome: Annotated[str, typer.Option("--outcome", help="reached, left_message, no_answer, or its family's own")],
    note: Annotated[str, typer.Option("--note", help="what happened")],
    as_: AsOpt = None,
    by: ByOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Close an open task with an outcome and a note; the deal or the sequence it belongs to follows."""
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.COMPLETE_TASK)
    task_id = lookup.task(runtime, task)  # none or several match: exit 2 with a short list
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            closed = closing.complete(ctx, task_id, outcome, note, actor.name)
            before = {"status": "open", "owner": closed.task.assignee or closed.task.role}
            after = {"status": "done", "outcome": closed.outcome.name, "note": note.strip()}
            audit.record(ctx, actor, Action.COMPLETE_TASK, "task", closed.task.id, before, after)
    except LookupError as exc:  # gone since it was looked up (or its deal is)
        fail(str(exc))
    except (TaskClosed, OutcomeRefused, HandoffRefused) as exc:
        fail(str(exc), 1)
    effects = "".join(f"; {effect}" for effect in closed.effects)
    _say(f"Closed {closed.task.id[:SHORT]} ({closed.task.kind}): {closed.outcome.name}{effects}.")
