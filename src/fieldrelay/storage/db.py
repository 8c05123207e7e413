"""Database engine set-up for SQLite (WAL, ``BEGIN IMMEDIATE``) and PostgreSQL (psycopg 3), and migrations."""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from fieldrelay.rules.limits import DatabaseTimeouts

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

# Alembic is imported where a schema is checked or changed, not with this module: `serve`'s worker process never
# needs it (about 7 MB of memory with what it loads).

DEFAULT_URL = "sqlite:///./fieldrelay.db"
_BUSY_TIMEOUT_S = 30
_MIGRATIONS = Path(__file__).parent / "migrations"
# Heroku, Render, Fly and psql hand out postgres:// and postgresql:// URLs; fieldrelay speaks psycopg 3.
_POSTGRES_SCHEMES = ("postgres", "postgresql")
_URL_HINT = "use sqlite:///path/to/fieldrelay.db or postgresql://user@host/dbname"


class DatabaseProblem(Exception):
    """The database cannot be used as asked; the message is one line for a person (never holds a password)."""


def resolve_url(url: str | None) -> str:
    """The database URL: explicit argument, else ``DATABASE_URL``, else ``./fieldrelay.db``."""
    return url or os.environ.get("DATABASE_URL") or DEFAULT_URL


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def parse_url(url: str | None) -> URL:
    """The database URL parsed, ``postgres://`` and ``postgresql://`` turned into psycopg 3's driver URL."""
    try:
        parsed = make_url(resolve_url(url))
    except ArgumentError as exc:
        raise DatabaseProblem(f"the database URL is not one fieldrelay can read: {_URL_HINT}") from exc
    if parsed.drivername in _POSTGRES_SCHEMES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_embedded(url: str | None) -> bool:
    """True when the URL names an embedded SQLite file (one machine), not a database server shared by many."""
    return parse_url(url).get_backend_name() == "sqlite"


def describe(url: URL) -> str:
    """The URL as a person may see it: the password hidden."""
    return url.render_as_string(hide_password=True)


def make_engine(url: str | None = None, timeouts: DatabaseTimeouts | None = None, **kwargs: Any) -> Engine:
    """Create an engine; on SQLite turn on WAL and make every transaction ``BEGIN IMMEDIATE``.

    ``timeouts``: per-statement and lock timeouts (None: PostgreSQL's own, none; SQLite waits 30 s for its lock).
    Parameters are never put in error messages (``hide_parameters``): they hold customers' names, phones, streets.
    """
    resolved = parse_url(url)
    kwargs.setdefault("hide_parameters", True)
    unusable = DatabaseProblem(f"fieldrelay cannot use {resolved.drivername}:// databases: {_URL_HINT}")
    if resolved.get_backend_name() not in ("sqlite", "postgresql"):
        raise unusable
    try:
        if resolved.get_backend_name() == "sqlite":
            busy = timeouts.sqlite_busy_seconds if timeouts is not None else _BUSY_TIMEOUT_S
            engine = create_engine(resolved, connect_args={"timeout": busy, "check_same_thread": False}, **kwargs)
            _configure_sqlite(engine, busy)
            return engine
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        if timeouts is not None:
            # Sent as connection options, so they hold for every session (a pooler that drops them: see production.md).
            options = (
                f"-c statement_timeout={_ms(timeouts.statement_seconds)} -c lock_timeout={_ms(timeouts.lock_seconds)}"
            )
            kwargs.setdefault("connect_args", {"options": options})
        return create_engine(resolved, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:  # a driver that is not installed (postgresql+psycopg2://)
        raise unusable from exc


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _configure_sqlite(engine: Engine, busy_seconds: float) -> None:
    # pysqlite's own transaction handling defers BEGIN and never issues BEGIN IMMEDIATE; take it over so
    # every transaction takes the write lock up front (no lock-upgrade deadlocks between processes).
    # Recipe from the SQLAlchemy SQLite dialect docs ("Serializable isolation / Savepoints / Transactional DDL").
    #
    # Threads of one process (API intake, worker) queue on a Python lock before BEGIN IMMEDIATE: SQLite's own
    # busy handler sleeps 1, 2, 5, 10 … ms between retries however soon the lock frees, which under load added
    # tens of milliseconds to every acknowledgement. Other processes still meet the database lock and busy_timeout.
    # (A first-come-first-served lock was tried and measured slower: every hand-over then waits for a thread wake-up.)
    #
    # `serve` runs its worker in a process of its own and hands both processes one multiprocessing lock instead
    # (``share_write_lock``), so the API's intake and that worker still hand the database over without the busy
    # handler's sleeps.
    locks = _WRITE_LOCKS.setdefault(engine, [threading.Lock()])
    holders: set[int] = set()  # id() of the DB-API connections whose transaction holds the write lock

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_ms(busy_seconds)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write_lock = locks[0]
        if not write_lock.acquire(timeout=busy_seconds):
            raise sqlite3.OperationalError("database is locked (waited for another thread's transaction)")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            write_lock.release()
            raise
        holders.add(id(conn.connection.dbapi_connection))

    dialect = engine.dialect
    plain_commit, plain_rollback = dialect.do_commit, dialect.do_rollback

    def _release(connection: Any) -> None:
        # Called with the raw DB-API connection or the pool's proxy for it, depending on the code path.
        key = id(getattr(connection, "dbapi_connection", connection))
        if key in holders:
            holders.discard(key)
            locks[0].release()

    def _commit(dbapi_connection: Any) -> None:
        try:
            plain_commit(dbapi_connection)
        finally:
            _release(dbapi_connection)

    def _rollback(dbapi_connection: Any) -> None:
        try:
            plain_rollback(dbapi_connection)
        finally:
            _release(dbapi_connection)

    # A connection thrown away mid-transaction (invalidated after an error, or closed) must not keep the lock.
    @event.listens_for(engine, "invalidate")
    def _on_invalidate(dbapi_connection: Any, _record: Any, _exception: Any) -> None:
        _release(dbapi_connection)

    @event.listens_for(engine, "close")
    def _on_close(dbapi_connection: Any, _record: Any) -> None:
        _release(dbapi_connection)

    dialect.do_commit = _commit  # type: ignore[method-assign]
    dialect.do_rollback = _rollback  # type: ignore[method-assign]


class WriteLock(Protocol):
    """A lock taken before every SQLite transaction: ``threading.Lock`` or a ``multiprocessing`` one."""

    def acquire(self, *, timeout: float) -> bool: ...

    def release(self) -> None: ...


_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, list[WriteLock]] = weakref.WeakKeyDictionary()


def share_write_lock(engine: Engine, lock: WriteLock) -> None:
    """Take ``lock`` (shared with another process) before every transaction of this SQLite engine; call it before
    the engine's first transaction. Does nothing on PostgreSQL, whose row locks need no such hand-over."""
    if engine.dialect.name == "sqlite":
        _WRITE_LOCKS[engine][0] = lock


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic configuration pointing at the packaged migrations and ``url``."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if not is_sqlite(engine):  # a migration may rewrite a large table: no per-statement limit for it
            connection.execute(text("SET LOCAL statement_timeout = 0"))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def ping(engine: Engine) -> None:
    """Raise if the database cannot be reached."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def open_database(url: str | None, *, create: bool, timeouts: DatabaseTimeouts | None = None) -> Engine:
    """An engine on a usable database, or DatabaseProblem saying on one line what is wrong.

    With ``create`` the schema is created or migrated (db upgrade; serve and worker on SQLite). Without it the
    database must already hold the current schema, and a SQLite file that does not exist is never created.
    """
    engine = make_engine(url, timeouts)
    where = describe(engine.url)
    try:
        if create:
            upgrade(engine)
        else:
            _require_file(engine, where)
            _require_current_schema(engine, where)
    except DatabaseProblem:
        engine.dispose()
        raise
    except OperationalError as exc:
        engine.dispose()
        raise DatabaseProblem(f"cannot reach the database {where}: {_reason(exc)}") from exc
    except DBAPIError as exc:
        engine.dispose()
        raise DatabaseProblem(f"the database {where} refused: {_reason(exc)}") from exc
    return engine


def _require_file(engine: Engine, where: str) -> None:
    """A SQLite database file must exist: connecting would create an empty one."""
    database = engine.url.database
    if is_sqlite(engine) and database and database != ":memory:" and not Path(database).exists():
        raise DatabaseProblem(
            f"no database at {where}: check --db or DATABASE_URL, or create it with `fieldrelay db upgrade`"
        )


def _require_current_schema(engine: Engine, where: str) -> None:
    """The database's Alembic revision must be this release's newest."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    heads = set(_scripts().get_heads())
    if current == heads:
        return
    if not current:
        raise DatabaseProblem(f"the database {where} has no fieldrelay schema: run `fieldrelay db upgrade`")
    known = {script.revision for script in _scripts().walk_revisions()}
    if current <= known:
        raise DatabaseProblem(
            f"the database {where} has an older schema ({', '.join(sorted(current))}): run `fieldrelay db upgrade`"
        )
    raise DatabaseProblem(
        f"the database {where} has schema {', '.join(sorted(current))}, newer than this fieldrelay: upgrade fieldrelay"
    )


@cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(_MIGRATIONS))


def _reason(exc: DBAPIError) -> str:
    """The driver's first line of the error (psycopg and sqlite3 put the reason there, never a password)."""
    lines = str(exc.orig).strip().splitlines()
    return lines[0].strip() if lines else type(exc.orig).__name__
