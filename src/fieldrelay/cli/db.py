"""``fieldrelay db``: migrate the schema (the one command that does on PostgreSQL), back up and restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fieldrelay.cli.common import DbOpt, console, fail
from fieldrelay.storage import backup
from fieldrelay.storage.db import DatabaseProblem, describe, open_database, parse_url

db_app = typer.Typer(help="Database schema, backups and restores.", no_args_is_help=True)
FileArg = Annotated[Path, typer.Argument(help="the backup file (SQLite: a database file; PostgreSQL: pg_dump -Fc)")]


def _say(message: str) -> None:
    console.print(message, markup=False, highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Create or migrate the schema to the newest version (run it once per release, before serve and the workers)."""
    try:
        engine = open_database(db, create=True)
    except DatabaseProblem as exc:
        fail(str(exc))
    engine.dispose()
    _say(f"Schema is current at {describe(engine.url)}")


@db_app.command("backup")
def db_backup(file: FileArg, db: DbOpt = None) -> None:
    """Write a consistent copy of the database to FILE; serve and the workers may keep running."""
    try:
        url = parse_url(db)
        backup.backup(url, file)
    except DatabaseProblem as exc:
        fail(str(exc))
    _say(f"Backed up {describe(url)} to {file} ({file.stat().st_size:,} bytes)")


@db_app.command("restore")
def db_restore(
    file: FileArg,
    db: DbOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask: replace what the database holds")] = False,
) -> None:
    """Replace what the database holds with the backup in FILE; stop serve and the workers first."""
    try:
        url = parse_url(db)
        if not yes:
            typer.confirm(f"Replace everything in {describe(url)} with {file}?", abort=True)
        backup.restore(url, file)
    except DatabaseProblem as exc:
        fail(str(exc))
    _say(f"Restored {file} into {describe(url)}")
    try:
        open_database(db, create=False).dispose()
    except DatabaseProblem as exc:  # a backup of an older release: its schema is migrated like any other
        _say(f"{exc}")
