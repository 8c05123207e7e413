"""What every ``fieldrelay`` sub-command shares: the --config and --db options, the console, building a runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from fieldrelay.rules.loader import ConfigError
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.service.clock import Clock

console = Console()

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="fieldrelay.yaml (default: ./fieldrelay.yaml)")]
DbOpt = Annotated[str | None, typer.Option("--db", help="database URL (default: $DATABASE_URL or ./fieldrelay.db)")]


def open_runtime(db: str | None, config: Path | None, clock: Clock | None = None, migrate: bool = True) -> Runtime:
    """The runtime, or exit 2 with the configuration's problems, one per line."""
    try:
        return build_runtime(db, config, clock=clock, migrate=migrate)
    except ConfigError as exc:
        print_config_error(exc)
        raise typer.Exit(2) from exc


def print_config_error(exc: ConfigError) -> None:
    """Each problem of an invalid configuration on its own line, with its line number."""
    console.print(f"{exc.source} is not valid:", style="red", markup=False)
    for problem in exc.problems:
        console.print(f"  {problem}", markup=False, highlight=False)
