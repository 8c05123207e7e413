"""An ended enrolment's step timers are cancelled through an index, and only that enrolment's pending ones."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, select, update

from fieldrelay.runtime import Runtime
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import timers
from tests.conftest import START


def _schedule(store: SqlMirror, key: str, enrollment_id: str | None) -> None:
    store.schedule_timer(key, "sequence_step", START + timedelta(days=1), "cus-1", {}, enrollment_id=enrollment_id)


def test_cancel_timers_cancels_the_enrolments_pending_steps_only(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn:
        store = SqlMirror(conn, "default", START)
        _schedule(store, "seq:e-1:first", "e-1")
        _schedule(store, "seq:e-1:second:1", "e-1")
        _schedule(store, "seq:e-1:fired", "e-1")
        _schedule(store, "seq:e-10:first", "e-10")  # an id the first one is a prefix of
        _schedule(store, "review:job-1", None)
        conn.execute(update(timers).where(timers.c.key == "seq:e-1:fired").values(status="done"))
        assert store.cancel_timers("e-1") == 2
    with runtime.engine.connect() as conn:
        statuses = {row.key: row.status for row in conn.execute(select(timers.c.key, timers.c.status))}
    assert statuses == {
        "seq:e-1:first": "cancelled",
        "seq:e-1:second:1": "cancelled",
        "seq:e-1:fired": "done",
        "seq:e-10:first": "pending",
        "review:job-1": "pending",
    }


def test_the_cancel_is_served_by_the_enrolment_index(runtime: Runtime) -> None:
    """Not a LIKE on the key, which no index serves (SQLite's LIKE ignores case; PostgreSQL's collation is not C)."""
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters))

    with runtime.engine.begin() as conn:  # a shop's pending steps: many enrolments, a few steps each
        store = SqlMirror(conn, "default", START)
        for n in range(1_500):
            _schedule(store, f"seq:e-{n}:step", f"e-{n}")
    with runtime.engine.connect() as conn:  # statistics as a running shop's database has them
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    event.listen(runtime.engine, "before_cursor_execute", listen)
    try:
        with runtime.engine.begin() as conn:
            SqlMirror(conn, "default", START).cancel_timers("e-1")
    finally:
        event.remove(runtime.engine, "before_cursor_execute", listen)
    ((statement, parameters),) = [(s, p) for s, p in seen if s.startswith("UPDATE timers")]
    with runtime.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
        conn.rollback()
    assert "ix_timers_enrollment" in plan, plan
