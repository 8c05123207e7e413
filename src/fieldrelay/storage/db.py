"""Database engine set-up for SQLite (WAL, ``BEGIN IMMEDIATE``) and PostgreSQL (psycopg 3), and migrations."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

DEFAULT_URL = "sqlite:///./fieldrelay.db"
_BUSY_TIMEOUT_S = 30
_MIGRATIONS = Path(__file__).parent / "migrations"


def resolve_url(url: str | None) -> str:
    """The database URL: explicit argument, else ``DATABASE_URL``, else ``./fieldrelay.db``."""
    return url or os.environ.get("DATABASE_URL") or DEFAULT_URL


def is_sqlite(engine: Engine) -> bool:
    """True when the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine; on SQLite turn on WAL and make every transaction ``BEGIN IMMEDIATE``."""
    resolved = make_url(resolve_url(url))
    if resolved.get_backend_name() == "sqlite":
        engine = create_engine(
            resolved,
            connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_engine(resolved, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and never issues BEGIN IMMEDIATE; take it over so
    # every transaction takes the write lock up front (no lock-upgrade deadlocks between processes).
    # Recipe from the SQLAlchemy SQLite dialect docs ("Serializable isolation / Savepoints / Transactional DDL").
    #
    # Threads of one process (API intake, worker) queue on a Python lock before BEGIN IMMEDIATE: SQLite's own
    # busy handler sleeps 1, 2, 5, 10 … ms between retries however soon the lock frees, which under load added
    # tens of milliseconds to every acknowledgement. Other processes still meet the database lock and busy_timeout.
    # (A first-come-first-served lock was tried and measured slower: every hand-over then waits for a thread wake-up.)
    write_lock = threading.Lock()
    holders: set[int] = set()  # id() of the DB-API connections whose transaction holds write_lock

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_S * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not write_lock.acquire(timeout=_BUSY_TIMEOUT_S):
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
            write_lock.release()

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


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic configuration pointing at the packaged migrations and ``url``."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def ping(engine: Engine) -> None:
    """Raise if the database cannot be reached."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
