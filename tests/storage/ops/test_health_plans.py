"""The Health page's reads on SQLite find their rows by index: no statement scans a table, and none walks the inbox by
its unique key (account, connector, …) to group by connector, which reads every webhook the shop ever received."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.storage.ops import circuits, health, samples
from fieldrelay.storage.ops.errors import open_error_counts
from tests.storage.error_rows import ACCOUNT


@pytest.fixture
def sqlite_runtime(sqlite_url: str, settings: Settings, clock: SimulatedClock) -> Iterator[Runtime]:
    """SQLite only: PostgreSQL's plans depend on its statistics (bench/office_pages.py measures both)."""
    runtime = build_runtime(sqlite_url, settings=settings, clock=clock, migrate=False)
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


@contextmanager
def _selects(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements run on ``engine`` inside the block, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def test_every_health_read_goes_by_an_index(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    now = runtime.clock.now()
    with _selects(runtime.engine) as seen, runtime.engine.connect() as conn:
        health.backlog(conn, ACCOUNT, now)
        open_error_counts(conn, ACCOUNT)
        health.per_minute(conn, ACCOUNT, now, 180)
        samples.window(conn, ACCOUNT, now, 24 * 60)
        circuits.current(conn, ACCOUNT, ["hubspot"])
    plans = {}
    with runtime.engine.connect() as conn:
        for statement, parameters in seen:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            plans[statement] = [str(r[-1]) for r in rows]
    assert len(plans) >= 12
    for statement, plan in plans.items():
        scans = [step for step in plan if step.startswith("SCAN ") and "CONSTANT ROW" not in step]
        assert not scans, f"{statement}\n{plan}"
        assert not any("sqlite_autoindex_inbox_1 (account_id=?)" in step for step in plan), f"{statement}\n{plan}"
    timers_due = [p for s, p in plans.items() if "FROM timers" in s and "due_at <=" in s]
    assert timers_due and all("ix_timers_account_status_due" in " ".join(p) for p in timers_due)
    window = [p for s, p in plans.items() if "FROM health_samples" in s]
    assert window and all("pk_health_samples" in " ".join(p) or "autoindex" in " ".join(p) for p in window)
