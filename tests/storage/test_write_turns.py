"""`serve`'s two processes take SQLite's write lock in turns: a side that had the last transaction lets a waiting other
side go first, a side whose other half died mid-wait still gets the lock, and both processes' writes all land.

SQLite only: the turns exist for SQLite's single write lock (PostgreSQL takes no such lock; see storage/db.py).
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

from sqlalchemy import text

from fieldrelay.storage.db import make_engine, share_write_lock
from fieldrelay.storage.write_turns import API, WORKER, SharedWriteLock

_CONTEXT = multiprocessing.get_context("spawn")  # as `serve` starts its worker process


def _wait_until(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.001)
    assert condition(), "timed out"  # type: ignore[operator]


def test_the_side_that_had_the_last_turn_lets_a_waiting_other_side_go_first() -> None:
    shared = SharedWriteLock(_CONTEXT)
    api, worker = shared.side(API), shared.side(WORKER)
    order: list[str] = []
    assert worker.acquire(timeout=10)

    def api_transaction() -> None:
        assert api.acquire(timeout=10)
        order.append("api")
        api.release()

    thread = threading.Thread(target=api_transaction)
    thread.start()
    _wait_until(lambda: shared.state[API] == 1)  # intake is waiting for the lock
    worker.release()
    assert worker.acquire(timeout=10)  # the worker asks again at once: it must come second
    order.append("worker")
    worker.release()
    thread.join(10)
    assert order == ["api", "worker"]


def test_a_side_is_not_held_up_forever_by_a_waiter_that_never_comes() -> None:
    """A worker process killed while waiting leaves its count behind; the API still gets the lock every time."""
    shared = SharedWriteLock(_CONTEXT)
    api = shared.side(API)
    shared.state[WORKER] = 1  # a waiter that died
    for _ in range(3):
        assert api.acquire(timeout=10)
        api.release()


def _worker_side_writes(db_url: str, shared: SharedWriteLock, rows: int) -> None:
    engine = make_engine(db_url)
    share_write_lock(engine, shared.side(WORKER))
    for n in range(rows):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (side, n) VALUES ('worker', :n)"), {"n": n})
    engine.dispose()


def test_two_processes_taking_turns_both_write_everything(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (side TEXT, n INTEGER)"))
    shared = SharedWriteLock(_CONTEXT)
    share_write_lock(engine, shared.side(API))
    other = _CONTEXT.Process(target=_worker_side_writes, args=(url, shared, 200))
    other.start()
    for n in range(200):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (side, n) VALUES ('api', :n)"), {"n": n})
    other.join(60)
    assert other.exitcode == 0
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT side, count(*) FROM t GROUP BY side")).all()
    counts = {str(side): int(n) for side, n in rows}
    engine.dispose()
    assert counts == {"api": 200, "worker": 200}
