"""SQLite set-up: threads of one process take turns on the write lock, and every way a transaction ends frees it."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from fieldrelay.storage.db import make_engine


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
