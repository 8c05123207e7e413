"""PostgreSQL wakes idle workers with LISTEN/NOTIFY: a new delivery is applied without waiting for the next poll."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.wake import listener_for
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.storage.db import make_engine
from fieldrelay.storage.tables import inbox
from tests.engine.test_worker import deliver
from tests.helpers import job_envelope

HOUR = 3600.0


@pytest.fixture
def sleepy(pg_database: str, settings: Settings, clock: SimulatedClock, secrets_env: None) -> Iterator[Runtime]:
    """A PostgreSQL runtime whose idle workers poll only once an hour."""
    worker = settings.worker.model_copy(update={"poll_interval_seconds": HOUR})
    rt = build_runtime(pg_database, settings=settings.model_copy(update={"worker": worker}), clock=clock, migrate=False)
    try:
        yield rt
    finally:
        rt.engine.dispose()


def _statuses(runtime: Runtime) -> list[str]:
    with runtime.engine.connect() as conn:
        return list(conn.execute(select(inbox.c.status)).scalars())


def test_an_idle_postgresql_worker_wakes_on_a_new_delivery(sleepy: Runtime) -> None:
    worker = sleepy.new_worker("listening")
    passes: list[int] = []
    run_once = worker.run_once

    def counted() -> int:
        handled = run_once()
        passes.append(handled)
        return handled

    worker.run_once = counted  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        # Idle: its passes have stopped (it now sleeps for the hour unless something wakes it).
        deadline = time.monotonic() + 60
        seen = -1
        while (not passes or len(passes) != seen) and time.monotonic() < deadline:
            seen = len(passes)
            time.sleep(0.5)
        assert passes and not any(passes), "the worker must be idle before the delivery"
        deliver(sleepy, job_envelope("job.completed", "2026-11-02T14:50:00Z"))
        deadline = time.monotonic() + 60  # generous: the poll would come only in an hour
        while _statuses(sleepy) != ["done"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _statuses(sleepy) == ["done"]
    finally:
        stop.set()
        worker.wake.set()
        thread.join(30)
    assert not thread.is_alive()


def test_sqlite_workers_poll(sqlite_url: str) -> None:
    """SQLite has no LISTEN: no listener (its `serve` wakes its worker itself; other workers poll)."""
    engine = make_engine(sqlite_url)
    try:
        assert listener_for(engine, lambda: None, threading.Event()) is None
    finally:
        engine.dispose()
