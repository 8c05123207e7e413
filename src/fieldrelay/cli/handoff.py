"""``fieldrelay team``, ``lead``, ``review`` and ``assign``: the lead-handoff SOP from a terminal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from fieldrelay.cli import lookup
from fieldrelay.cli.acting import AsOpt, ByOpt, acting
from fieldrelay.cli.common import ConfigOpt, DbOpt, console, open_runtime
from fieldrelay.rules.sequences import Role
from fieldrelay.runtime import Runtime
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action, Actor
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff import first_response as handoff
from fieldrelay.service.handoff import review as handoff_review
from fieldrelay.service.handoff import stages
from fieldrelay.service.handoff.first_response import HandoffRefused

T = TypeVar("T")
team_app = typer.Typer(help="The team: who holds which role, and whom they report to.", no_args_is_help=True)
lead_app = typer.Typer(help="Move a lead along the handoff SOP: qualify, field outcome, log a follow-up.")
review_app = typer.Typer(help="The daily open-loop review.", no_args_is_help=True)
lead_app.info.no_args_is_help = True

DealArg = Annotated[
    str, typer.Argument(help="the deal: its id or first characters, or the customer's phone, email or name")
]


def _run(db: str | None, config: ConfigOpt, action: Callable[[HandlerContext], T]) -> T:
    """Run ``action`` in one unit of work; a refusal or an unknown deal exits 1 with the reason."""
    return _run_on(open_runtime(db, config, migrate=False), action)


def _run_on(runtime: Runtime, action: Callable[[HandlerContext], T]) -> T:
    """``action`` in one unit of work of ``runtime``; a refusal or an unknown deal exits 1 with the reason."""
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            return action(ctx)
    except (HandoffRefused, LookupError) as exc:
        console.print(f"[red]{exc}[/]", highlight=False)
        raise typer.Exit(1) from exc


def _audited(
    runtime: Runtime,
    actor: Actor,
    done: Action,
    deal_id: str,
    after: dict[str, Any],
    action: Callable[[HandlerContext], T],
) -> T:
    """``action`` on a deal and its audit entry (the deal's stage and owner before) in one unit of work."""

    def both(ctx: HandlerContext) -> T:
        deal = ctx.store.handoff_deal(deal_id)
        before = None if deal is None else {"stage": deal.stage, "owner": deal.owner}
        result = action(ctx)
        audit.record(ctx, actor, done, "deal", deal_id, before, after)
        return result

    return _run_on(runtime, both)


@team_app.command("add")
def team_add(
    name: Annotated[str, typer.Argument(help="the person's name, as tasks and assignments name them")],
    role: Annotated[str, typer.Option("--role", help=f"one of {', '.join(get_args(Role))}")],
    reports_to: Annotated[str | None, typer.Option("--reports-to", help="their lead, already on the team")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    as_: AsOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Add a team member (or update one of the same name)."""
    if role not in get_args(Role):
        console.print(f"[red]unknown role {role!r} (roles: {', '.join(get_args(Role))})[/]", highlight=False)
        raise typer.Exit(1)
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, None, Action.MANAGE_USERS)  # the team is the shop's people, as the API has it

    def add(ctx: HandlerContext) -> bool:
        was = ctx.store.team_member(name)
        before = None if was is None else {"role": was.role, "reports_to": was.reports_to, "email": was.email}
        created = handoff.add_member(ctx, name, role, reports_to, email)
        after = {"role": role, "reports_to": reports_to, "email": email}
        audit.record(ctx, actor, Action.MANAGE_USERS, "team_member", name, before, after)
        return created

    created = _run_on(runtime, add)
    console.print(f"{'Added' if created else 'Updated'} {name} ({role}).", highlight=False)


@team_app.command("list")
def team_list(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """The team."""
    members = _run(db, config, lambda ctx: ctx.store.team_members())
    table = Table(title="Team")
    for column in ("name", "role", "reports to", "email"):
        table.add_column(column)
    for m in members:
        table.add_row(m.name, m.role, m.reports_to or "", m.email or "")
    console.print(table)


@lead_app.command("qualify")
def lead_qualify(
    deal: DealArg,
    zip_code: Annotated[str, typer.Option("--zip", help="service ZIP code")] = "",
    job_type: Annotated[str, typer.Option("--job-type", help="what the job is")] = "",
    when: Annotated[str, typer.Option("--when", help="when the customer wants it")] = "",
    as_: AsOpt = None,
    by: ByOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Move a new lead to Qualified (ZIP inside the service area, job type and time all required)."""
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.QUALIFY)
    deal_id = lookup.deal(runtime, deal)
    _audited(
        runtime,
        actor,
        Action.QUALIFY,
        deal_id,
        {"stage": stages.QUALIFIED, "zip": zip_code, "job_type": job_type, "when": when},
        lambda ctx: stages.qualify(
            ctx, deal_id, zip_code=zip_code, job_type=job_type, requested_for=when, by=actor.name
        ),
    )
    console.print(f"Deal {deal_id} qualified.", highlight=False)


@lead_app.command("outcome")
def lead_outcome(
    deal: DealArg,
    outcome: Annotated[str, typer.Argument(help="estimate_sent | work_approved | no_decision")],
    follow_up_on: Annotated[
        datetime | None, typer.Option("--follow-up-on", formats=["%Y-%m-%d"], help="required for no_decision")
    ] = None,
    as_: AsOpt = None,
    by: ByOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Record the field's one outcome of the visit."""
    day = follow_up_on.date() if follow_up_on else None
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.RECORD_OUTCOME)
    deal_id = lookup.deal(runtime, deal)
    _audited(
        runtime,
        actor,
        Action.RECORD_OUTCOME,
        deal_id,
        {"stage": outcome, "follow_up_on": day.isoformat() if day else None},
        lambda ctx: stages.record_outcome(ctx, deal_id, outcome, follow_up_on=day, by=actor.name),
    )
    console.print(f"Deal {deal_id}: {outcome}.", highlight=False)


@lead_app.command("log")
def lead_log(
    deal: DealArg,
    note: Annotated[str, typer.Option("--note", help="what was said")],
    call: Annotated[bool, typer.Option("--call", help="a phone call")] = False,
    text: Annotated[bool, typer.Option("--text", help="a text message")] = False,
    as_: AsOpt = None,
    by: ByOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Log a call or text to the customer; it closes the soonest open follow-up task."""
    if call == text:
        console.print("[red]say --call or --text (one of them)[/]")
        raise typer.Exit(1)
    channel: Literal["call", "text"] = "call" if call else "text"
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.LOG_CALL)
    deal_id = lookup.deal(runtime, deal)
    _audited(
        runtime,
        actor,
        Action.LOG_CALL,
        deal_id,
        {"channel": channel, "note": note.strip()},
        lambda ctx: stages.log_followup(ctx, deal_id, channel, note, actor.name),
    )
    console.print(f"Logged the {channel} on deal {deal_id}.", highlight=False)


@review_app.command("today")
def review_today(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Every deal waiting on an estimate decision, oldest first, overdue ones flagged."""
    runtime = open_runtime(db, config, migrate=False)
    items = _run_on(runtime, handoff_review.today)
    if not items:
        console.print("[green]No open estimates wait on a decision.[/]")
        return
    _print_loops(f"Open loops ({sum(i.overdue for i in items)} overdue)", items, runtime)


@lead_app.command("list")
def lead_list(config: ConfigOpt = None, db: DbOpt = None) -> None:
    """Every open deal with its id, stage, owner and next action, the longest-standing first."""
    runtime = open_runtime(db, config, migrate=False)
    items = _run_on(runtime, handoff_review.open_deals)
    if not items:
        console.print("No open deals.")
        return
    _print_loops(f"Open deals ({sum(i.overdue for i in items)} overdue)", items, runtime)


def _print_loops(title: str, items: list[handoff_review.ReviewItem], runtime: Runtime) -> None:
    """The loops as a Rich table in shop time."""
    zone = ZoneInfo(runtime.settings.business.time_zone)
    table = Table(title=title)
    # The deal id whole on one line (it is what qualify, outcome, log and assign take), the customer under it; the
    # rest stacked in pairs so the list stays readable in an 80-column terminal.
    table.add_column("deal / customer", no_wrap=True)
    table.add_column("stage / owner")
    table.add_column("next action")
    table.add_column("due")
    for item in items:
        loop = item.loop
        due = f"{loop.due_at.astimezone(zone):%a %b %-d %H:%M}" if loop.due_at else "—"
        table.add_row(
            f"{loop.deal_id}\n{loop.customer_name}",
            f"{loop.stage} since {loop.stage_at.astimezone(zone):%b %-d}\n{loop.owner or 'unassigned'}",
            loop.next_action or "—",
            due + ("\n[red]OVERDUE[/]" if item.overdue else ""),
        )
    console.print(table)


def assign(
    deal: DealArg,
    to: Annotated[str, typer.Option("--to", help="the team member who takes it over")],
    as_: AsOpt = None,
    by: ByOpt = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
) -> None:
    """Hand a deal and its open tasks to a team member now."""
    runtime = open_runtime(db, config, migrate=False)
    actor = acting(runtime, as_, by, Action.REASSIGN)
    deal_id = lookup.deal(runtime, deal)
    moved = _audited(
        runtime, actor, Action.REASSIGN, deal_id, {"owner": to}, lambda ctx: stages.assign(ctx, deal_id, to, actor.name)
    )
    console.print(
        f"Deal {deal_id} is now {to}'s ({moved} open task{'s' if moved != 1 else ''} moved).", highlight=False
    )


def register(app: typer.Typer) -> None:
    """Add the SOP's commands to the ``fieldrelay`` app."""
    app.add_typer(team_app, name="team")
    app.add_typer(lead_app, name="lead")
    app.add_typer(review_app, name="review")
    app.command("assign")(assign)
