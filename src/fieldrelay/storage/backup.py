"""Back up a database to one file and restore it: SQLite's online backup API, PostgreSQL's pg_dump and pg_restore.

A backup is taken while serve and the workers run (both ways read a consistent snapshot). A restore replaces what the
database holds, so the processes that use it are stopped first (docs/backup.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL

from fieldrelay.storage.db import DatabaseProblem, describe

_SQLITE_MAGIC = b"SQLite format 3\x00"
_PG_DUMP_MAGIC = b"PGDMP"  # the first bytes of pg_dump's custom format (-Fc)


def backup(url: URL, target: Path) -> None:
    """Write a consistent copy of the database at ``url`` to ``target`` (SQLite: a database file; PostgreSQL: -Fc)."""
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        if not source.exists():
            raise DatabaseProblem(f"no database at {describe(url)}: nothing to back up")
        target.unlink(missing_ok=True)
        # sqlite3's Connection.backup copies page by page under SQLite's online backup API: writers may go on.
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
        return
    _run_pg("pg_dump", url, ["--format=custom", "--no-owner", "--no-privileges", f"--file={target}"])


def restore(url: URL, source: Path) -> None:
    """Replace the database at ``url`` with the backup in ``source`` (a file ``backup`` wrote for the same kind)."""
    kind = _kind_of(source)
    if url.get_backend_name() == "sqlite":
        if kind != "sqlite":
            raise DatabaseProblem(f"{source} is not a SQLite backup ({kind}): restore it into a {kind} database")
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)  # overwrites every page of the target, in one step
        return
    if kind != "postgresql":
        raise DatabaseProblem(f"{source} is not a pg_dump backup ({kind}): restore it into a {kind} database")
    # --clean --if-exists drops each object of the backup before creating it again; --single-transaction: all or
    # nothing (a failed restore leaves the database as it was).
    options = ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    _run_pg("pg_restore", url, [*options, str(source)])


def _kind_of(path: Path) -> str:
    """``sqlite``, ``postgresql`` or a description of what else the file is."""
    try:
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise DatabaseProblem(f"cannot read {path}: {exc.strerror}") from exc
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(_PG_DUMP_MAGIC):
        return "postgresql"
    return "not a fieldrelay backup"


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise DatabaseProblem("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _run_pg(tool: str, url: URL, arguments: list[str]) -> None:
    """Run a PostgreSQL client tool on ``url``; the password goes in PGPASSWORD, never on the command line."""
    if shutil.which(tool) is None:
        raise DatabaseProblem(f"{tool} is not installed: install PostgreSQL's client tools (postgresql-client)")
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    target = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run([tool, f"--dbname={target}", *arguments], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise DatabaseProblem(f"{tool} failed on {describe(url)}: {lines[0] if lines else f'exit {done.returncode}'}")
