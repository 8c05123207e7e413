"""The ``fieldrelay`` command: serve, worker, demo, check, report, db; the other areas are modules of their own."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import uvicorn

from fieldrelay import __version__
from fieldrelay.cli.audit import audit
from fieldrelay.cli.common import ConfigOpt, DbOpt, console, demo_notice, open_runtime, print_config_error
from fieldrelay.cli.config import config_app
from fieldrelay.cli.customers import customers_app
from fieldrelay.cli.db import db_app
from fieldrelay.cli.errors import errors_app
from fieldrelay.cli.handoff import register as register_handoff
from fieldrelay.cli.init import init
from fieldrelay.cli.referrals import referrals_app
from fieldrelay.cli.sequences import sequences_app
from fieldrelay.cli.startup import log_secrets, print_secrets
from fieldrelay.cli.tasks import tasks_app
from fieldrelay.cli.templates import templates_app
from fieldrelay.cli.users import users_app
from fieldrelay.engine.clock import RealClock, SimulatedClock
from fieldrelay.engine.logs import LogFormat, configure_logging
from fieldrelay.rules.loader import ConfigError, load_settings
from fieldrelay.runtime import ProviderNotConfigured
from fieldrelay.service.clock import Clock
from fieldrelay.service.outreach import templates

app = typer.Typer(
    help="fieldrelay: keeps a home-services shop's CRM true and runs the follow-up.", no_args_is_help=True
)
app.add_typer(errors_app, name="errors")
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(customers_app, name="customers")
app.add_typer(referrals_app, name="referrals")
app.add_typer(sequences_app, name="sequences")
app.add_typer(templates_app, name="templates")
app.add_typer(tasks_app, name="tasks")
app.add_typer(users_app, name="users")
app.command("audit")(audit)
register_handoff(app)  # team, lead, review, assign
app.command("init")(init)
DemoOpt = Annotated[bool, typer.Option("--demo", help="run even on the demo shop's configuration (demo: true)")]
LogFormatOpt = Annotated[LogFormat, typer.Option("--log-format", help="json lines, or plain text for a terminal")]


def _version(asked: bool) -> None:
    if asked:
        typer.echo(f"fieldrelay {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """fieldrelay: keeps a home-services shop's CRM true and runs the follow-up."""


class ClockKind(StrEnum):
    """Which clock the service runs on."""

    real = "real"
    simulated = "simulated"


@app.command()
def serve(
    config: ConfigOpt = None,
    db: DbOpt = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    clock: Annotated[ClockKind, typer.Option(help="simulated: for the demo and tests only")] = ClockKind.real,
    start: Annotated[str | None, typer.Option(help="simulated clock start, ISO 8601 (default: now)")] = None,
    log_level: str = "INFO",
    log_format: LogFormatOpt = "json",
    allow_demo: DemoOpt = False,
) -> None:
    """Run the API, the office app at / and one worker in one process."""
    from fieldrelay.server import build_app, uvicorn_options
    from fieldrelay.web.setup import owner_setup_link

    configure_logging(log_level, log_format)
    chosen: Clock = RealClock()
    if clock is ClockKind.simulated:
        chosen = SimulatedClock(_parse_start(start))
    elif start is not None:
        raise typer.BadParameter("--start only goes with --clock simulated")
    runtime = open_runtime(db, config, chosen, demo=allow_demo)
    # On a simulated clock, work runs only inside POST /api/clock/advance: a background worker would see its
    # leases expire whenever the clock jumps, and another worker would take over rows still in its hands.
    try:
        application = build_app(runtime, run_worker=clock is ClockKind.real)
    except ProviderNotConfigured as exc:
        _cannot_start(exc)
    log_secrets(runtime.settings, api=True)
    # Nobody can sign in yet: a signed link, valid for a day (and only until an owner exists), creates the owner.
    link = owner_setup_link(application, runtime.settings.public_base_url or f"http://{host}:{port}")
    if link is not None:
        console.print(f"Nobody can sign in yet. Create the owner's sign-in: {link}", markup=False, soft_wrap=True)
    # log_config=None: uvicorn's error and access lines go through the handler configure_logging set, in its format.
    limits = uvicorn_options(runtime.settings.server)
    uvicorn.run(
        application, host=host, port=port, log_level=log_level.lower(), log_config=None, access_log=True, **limits
    )


def _parse_start(raw: str | None) -> datetime:
    if raw is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise typer.BadParameter(f"--start {raw!r} is not an ISO 8601 time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command()
def worker(
    config: ConfigOpt = None,
    db: DbOpt = None,
    worker_id: Annotated[str | None, typer.Option(help="name in leases and logs (default: host:pid:random)")] = None,
    log_level: str = "INFO",
    log_format: LogFormatOpt = "json",
    allow_demo: DemoOpt = False,
) -> None:
    """Run one worker only (run several, on several machines, against one PostgreSQL database)."""
    configure_logging(log_level, log_format)
    runtime = open_runtime(db, config, demo=allow_demo)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        started = runtime.new_worker(worker_id)
    except ProviderNotConfigured as exc:
        _cannot_start(exc)
    log_secrets(runtime.settings, api=False)
    started.run_forever(stop)


def _cannot_start(exc: ProviderNotConfigured) -> NoReturn:
    console.print(f"cannot start: {exc}", style="red", markup=False, highlight=False)
    raise typer.Exit(2) from exc


@app.command()
def check(config: ConfigOpt = None) -> None:
    """Validate the configuration file, and say which secrets are set in the environment."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        print_config_error(exc)
        raise typer.Exit(1) from exc
    broken = templates.problems(settings)
    if broken:
        console.print("Templates that cannot render:", style="red", markup=False)
        for problem in broken:
            console.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(1)
    if settings.demo:
        # Checking the demo shop is fine; quietly taking it for the user's own shop is not.
        console.print(
            f"{demo_notice(settings, config)}; `fieldrelay init` writes your own, "
            "and serve and worker run this one only with --demo",
            style="yellow",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    hours = settings.business.opening_hours()
    days = ", ".join(f"{d} {h.opens:%H:%M}-{h.closes:%H:%M}" for d, h in hours.items()) or "closed every day"
    console.print(f"[green]OK[/] {settings.business.name} ({settings.business.time_zone}): {days}")
    rows = settings.field_mapping.rows
    writes = sum(len(row.write) for row in rows.values())
    triggers = sorted({action for row in rows.values() for action in row.trigger})
    console.print(
        f"field mapping: {len(rows)} events write {writes} CRM fields; triggers: {', '.join(triggers) or 'none'}; "
        f"pipeline: {len(settings.pipeline.stages)} stages; texts {settings.text_hours} customer time",
        highlight=False,
    )
    enabled = sum(sequence.enabled for sequence in settings.sequences.values())
    console.print(
        f"sequences: {enabled} of {len(settings.sequences)} enabled; templates: {len(settings.templates)}; "
        f"texts by {settings.messaging.sms_provider}, email by {settings.messaging.email_provider}",
        highlight=False,
    )
    print_secrets(console, settings)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="where the demo database and log go")] = Path(".demo"),
    seed: int = 7,
    keep_serving: Annotated[
        bool, typer.Option("--keep-serving", help="leave the service and the office app running, with a sign-in")
    ] = False,
) -> None:
    """Run a simulated week of a 9-technician plumbing shop against the real service and print the report."""
    from fieldrelay.sim.demo import run_demo

    run_demo(workdir, seed, console, keep_serving=keep_serving)


@app.command()
def report(
    config: ConfigOpt = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    at: Annotated[str | None, typer.Option(help="judge stale records as of this time, ISO 8601 (default: now)")] = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="the KPIs' window: the days before --at")] = 7,
) -> None:
    """Print the shop's numbers: intake, mirror, stale records, follow-up lag, the KPIs over --days."""
    from fieldrelay.reports.kpi import build_report, print_report

    try:
        # A database a simulated clock filled (the demo's) is judged as of a time of its week, not the wall clock.
        now = None if at is None else datetime.fromisoformat(at)
    except ValueError as exc:
        raise typer.BadParameter(f"--at {at!r} is not an ISO 8601 time") from exc
    now = now.replace(tzinfo=UTC) if now is not None and now.tzinfo is None else now
    data = build_report(open_runtime(db, config, migrate=False), now=now, days=days)
    if as_json:
        typer.echo(json.dumps(data.as_json(), indent=2))
    else:
        print_report(data, console)


def main(argv: list[str] | None = None) -> Any:
    """Entry point for tests."""
    return app(argv)
