"""SQLite set-up: threads of one process take turns on the write lock, and every way a transaction ends frees it.
Opening a database: URLs people are given, a missing file, no schema or an old one, an unreachable server."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from fieldrelay.storage.db import DatabaseProblem, make_engine, open_database, parse_url


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A fresh SQLite engine with one table."""
    eng = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return eng


def _insert_from_thread(engine: Engine, value: int, started: threading.Event) -> threading.Thread:
    def run() -> None:
        started.set()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": value})

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _values(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT n FROM t ORDER BY n"))]


def test_a_second_thread_waits_for_the_first_transaction_then_writes(engine: Engine) -> None:
    started = threading.Event()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        thread = _insert_from_thread(engine, 2, started)
        started.wait(5)
        thread.join(0.2)
        assert thread.is_alive(), "the second writer must wait while the first transaction is open"
    thread.join(10)
    assert not thread.is_alive()
    assert _values(engine) == [1, 2]


def test_a_rolled_back_transaction_frees_the_lock(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("the work failed")
    started = threading.Event()
    thread = _insert_from_thread(engine, 2, started)
    thread.join(10)
    assert not thread.is_alive()
    assert _values(engine) == [2]


def test_a_failed_statement_frees_the_lock(engine: Engine) -> None:
    with pytest.raises(Exception, match="no such table"), engine.begin() as conn:
        conn.execute(text("INSERT INTO missing VALUES (1)"))
    started = threading.Event()
    thread = _insert_from_thread(engine, 3, started)
    thread.join(10)
    assert not thread.is_alive()
    assert _values(engine) == [3]


def test_an_invalidated_connection_frees_the_lock(engine: Engine) -> None:
    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t VALUES (1)"))
    conn.invalidate()
    conn.close()
    started = threading.Event()
    thread = _insert_from_thread(engine, 4, started)
    thread.join(10)
    assert not thread.is_alive()
    assert _values(engine) == [4]


def test_read_only_connections_do_not_leak_the_lock(engine: Engine) -> None:
    for _ in range(3):
        assert _values(engine) == []
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (5)"))
    assert _values(engine) == [5]


def test_another_process_holding_the_database_is_waited_for_by_sqlite(engine: Engine, tmp_path: Path) -> None:
    """Across processes the database lock still applies; a short hold is waited out by busy_timeout."""
    other = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (6)")
    timer = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    timer.start()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (7)"))
    timer.join()
    other.close()
    assert _values(engine) == [6, 7]


# --- opening a database ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://app:pw@db.example.com:5432/shop", "postgresql+psycopg://app:pw@db.example.com:5432/shop"),
        ("postgresql://app@db.example.com/shop", "postgresql+psycopg://app@db.example.com/shop"),
        ("postgresql+psycopg://app@db.example.com/shop", "postgresql+psycopg://app@db.example.com/shop"),
        ("sqlite:///./fieldrelay.db", "sqlite:///./fieldrelay.db"),
    ],
)
def test_postgres_urls_as_hosts_hand_them_out_use_psycopg(given: str, used: str) -> None:
    assert parse_url(given).render_as_string(hide_password=False) == used
    assert make_engine(given).url.drivername == parse_url(used).drivername


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://app@db.example.com/shop", "fieldrelay cannot use mysql:// databases"),
        ("postgresql+psycopg2://app@db.example.com/shop", "cannot use postgresql+psycopg2:// databases"),
        ("not a url", "the database URL is not one fieldrelay can read"),
    ],
)
def test_a_url_fieldrelay_cannot_use_is_one_clear_problem(url: str, says: str) -> None:
    with pytest.raises(DatabaseProblem, match=r"use sqlite:///path/to/fieldrelay\.db or postgresql://") as raised:
        make_engine(url)
    assert says in str(raised.value)


def test_a_missing_sqlite_file_is_named_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(DatabaseProblem, match=r"no database at sqlite:///.*typo\.db: .*fieldrelay db upgrade"):
        open_database(f"sqlite:///{path}", create=False)
    assert not path.exists()


def test_a_database_without_the_schema_says_to_upgrade(empty_db_url: str) -> None:
    if empty_db_url.startswith("sqlite"):
        sqlite3.connect(empty_db_url.removeprefix("sqlite:///")).close()  # a file that exists, with no tables
    with pytest.raises(DatabaseProblem, match="has no fieldrelay schema: run `fieldrelay db upgrade`"):
        open_database(empty_db_url, create=False)
    open_database(empty_db_url, create=True).dispose()  # what db upgrade does (and serve and worker on SQLite)
    open_database(empty_db_url, create=False).dispose()


def test_an_older_or_newer_schema_is_named(db_url: str) -> None:
    open_database(db_url, create=False).dispose()  # the current schema
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        with pytest.raises(DatabaseProblem, match=r"has an older schema \(0001\): run `fieldrelay db upgrade`"):
            open_database(db_url, create=False)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(DatabaseProblem, match="has schema 9999, newer than this fieldrelay: upgrade fieldrelay"):
            open_database(db_url, create=False)
    finally:
        engine.dispose()


def test_an_unreachable_server_is_one_line_without_the_password() -> None:
    with pytest.raises(DatabaseProblem) as raised:
        open_database("postgres://app:hunter2@127.0.0.1:1/shop", create=True)
    message = str(raised.value)
    assert message.startswith("cannot reach the database postgresql+psycopg://app:***@127.0.0.1:1/shop: ")
    assert "hunter2" not in message and "\n" not in message
