"""What every ``fieldrelay`` sub-command shares: the --config and --db options, the console, building a runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from fieldrelay.connectors.registry import inbound_connectors
from fieldrelay.engine.clock import RealClock
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import DEFAULT_YAML, ConfigError, config_path, load_settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.clock import Clock
from fieldrelay.storage.db import DatabaseProblem, is_embedded, open_database

console = Console()

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="fieldrelay.yaml (default: ./fieldrelay.yaml)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="database URL (default: $DATABASE_URL or ./fieldrelay.db)")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Say what is wrong (one line, unwrapped, no traceback) and exit: 2 cannot run as asked, 1 refused or problems."""
    console.print(message, style="red", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_config(config: Path | None) -> Settings:
    """The settings, or exit 2 with the configuration's problems, one per line."""
    try:
        return load_settings(config)
    except ConfigError as exc:
        print_config_error(exc)
        raise typer.Exit(2) from exc


def open_runtime(
    db: str | None, config: Path | None, clock: Clock | None = None, migrate: bool = True, demo: bool = True
) -> Runtime:
    """The runtime, or exit 2 saying what is wrong with the configuration or the database.

    ``migrate`` (serve, worker): on an embedded SQLite file, create or migrate the schema so the first run is one
    command; on PostgreSQL, shared by many processes, only ``fieldrelay db upgrade`` migrates (processes starting at
    once never race to), so the schema must be current. Otherwise the database must exist with the current schema,
    and a missing SQLite file is not created. ``demo`` False: refuse the demo shop's configuration.
    """
    settings = load_config(config)
    if not demo and settings.demo:
        refuse_demo(settings, config)
    try:
        engine = open_database(db, create=migrate and is_embedded(db), timeouts=settings.database)
    except DatabaseProblem as exc:
        fail(str(exc))
    return Runtime(engine=engine, settings=settings, clock=clock or RealClock(), inbound=inbound_connectors(settings))


def demo_notice(settings: Settings, config: Path | None) -> str:
    """Where the demo shop's configuration came from, as the start of a sentence."""
    path = config_path(config)
    if config is None and path == DEFAULT_YAML:
        where = f"there is no fieldrelay.yaml in {Path.cwd()}, so the packaged configuration"
    else:
        where = str(path)
    return f"{where} is the demo shop {settings.business.name!r} (demo: true)"


def refuse_demo(settings: Settings, config: Path | None) -> NoReturn:
    """Exit 2: serve and worker never text real customers under the demo shop's name unless told --demo."""
    fail(
        f"{demo_notice(settings, config)}: write your own with `fieldrelay init` (or point at it with --config PATH), "
        "or pass --demo to run the demo shop"
    )


def print_config_error(exc: ConfigError) -> None:
    """Each problem of an invalid configuration on its own line, with its line number."""
    console.print(f"{exc.source} is not valid:", style="red", markup=False, soft_wrap=True)
    for problem in exc.problems:
        console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
