"""No per-event query scans a table that grows with the shop (PostgreSQL plans, a mirror of a few thousand rows).

The worker's statements are captured while it applies realistic events (new and returning customers, jobs booked,
completed and paid, with the packaged sequence library) on a database already holding customers, jobs, enrolments,
timers and activities (a few thousand rows); each is then EXPLAINed with its own parameters and ``enable_seqscan``
off. PostgreSQL then plans a sequential scan only where no index can serve the query, which is what would make every
event's cost grow with the shop (issue 17), whatever the table's size in the test; so a Seq Scan fails the test, and
so does an index scan whose only condition is the account (one shop is one account: that reads the whole table).
Tables too small for the planner's choice of index to mean anything (under ``_MEASURED_ROWS`` rows after ANALYZE) are
left to the Seq Scan check. (A condition on a status alone is not flagged: rows in flight are few, and on tables this
small the planner picks a status index even beside the primary key; the timer cancel has a test of its own in
tests/storage/sequences.)
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.intake import receive
from fieldrelay.engine.worker import Worker
from fieldrelay.rules.loader import DEFAULT_YAML, load_settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.sim.people import AUSTIN_ZIPS, FIRST_NAMES, LAST_NAMES, STREETS
from fieldrelay.storage.tables import metadata
from tests.conftest import START
from tests.helpers import signed

# Tables that stay small whatever the shop's size: a seq scan of a few pages is what PostgreSQL should do there.
SMALL_TABLES = {
    "accounts": "one row per shop",
    "users": "the shop's staff",
    "team_members": "the shop's staff",
    "alembic_version": "one row",
}
IDENTITY_STATEMENTS = (
    # Identity reads its candidates (at most the cap of each key) by id: customers by primary key, their phones by
    # (account_id, customer_id). With this test's 300 customers the id list covers a large share of the table and
    # the planner reads it whole on purpose; bench/identity.py measures these reads at 100,000 records.
    "SELECT customers.id, customers.first_name, customers.last_name, customers.street, customers.unit, customers.city",
    "SELECT customer_phones.customer_id, customer_phones.e164 FROM customer_phones",
)
_UNSELECTIVE = {"account_id"}
_MEASURED_ROWS = 100

CUSTOMERS, JOBS = 300, 80  # with their jobs' enrolments, timers and activities: a few thousand rows


def _customer(i: int) -> dict[str, Any]:
    rng = random.Random(i)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    return {
        "id": f"cus_{i}",
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}.{i}@example.com".lower().replace("'", "") if i % 5 else None,
        "mobile_number": f"(512) {200 + i // 10_000:03d}-{i % 10_000:04d}",
    }


def _address(i: int) -> dict[str, str]:
    street = f"{100 + i // len(STREETS)} {STREETS[i % len(STREETS)]}"
    return {"street": street, "city": "Austin", "state": "TX", "zip": AUSTIN_ZIPS[i % len(AUSTIN_ZIPS)]}


def _job(event: str, job: int, customer: int, minutes: int) -> dict[str, Any]:
    at = START - timedelta(hours=2) + timedelta(minutes=minutes)
    return {
        "event": event,
        "event_occurred_at": at.isoformat().replace("+00:00", "Z"),
        "company_id": "co_1",
        "job": {
            "id": f"job_{job}",
            "description": "AC not cooling",
            "work_status": "scheduled",
            "customer": _customer(customer),
            "address": _address(customer),
            "total_amount": 45_000,
            "outstanding_balance": 0 if event == "job.paid" else 45_000,
            "assigned_employees": [{"id": "pro_1", "first_name": "Ray", "last_name": "Ortiz"}],
            "job_fields": {"job_type": {"name": "AC repair"}},
        },
    }


def _deliver(runtime: Runtime, envelope: dict[str, Any]) -> None:
    raw, headers = signed(envelope, runtime.clock.now())
    lowered = {k.lower(): v for k, v in headers.items()}
    receive(runtime.engine, runtime.inbound["housecallpro"], lowered, raw, runtime.clock.now(), "default")


def _jobs(runtime: Runtime, worker: Worker, jobs: range, customers: int, new_from: int) -> None:
    """Each job booked, completed and paid; one in five for a known customer, the others for a new one."""
    rng = random.Random(jobs.start)
    fresh = new_from
    for j in jobs:
        if rng.random() < 0.2:
            customer = rng.randrange(customers)
        else:
            customer, fresh = fresh, fresh + 1
        for step, name in enumerate(("job.created", "job.completed", "job.paid")):
            _deliver(runtime, _job(name, j, customer, step * 30))
    assert worker.drain(600)


def _load(url: str) -> Runtime:
    """A mirror of a few thousand customers with their jobs, enrolments and timers, analysed."""
    settings = load_settings(DEFAULT_YAML)  # the packaged sequence library: enrolments and timers on every job
    return build_runtime(url, settings=settings, clock=SimulatedClock(START), migrate=False)


def _fill(runtime: Runtime, worker: Worker) -> None:
    for i in range(CUSTOMERS):
        customer = {**_customer(i), "addresses": [_address(i)]}
        at = (START - timedelta(days=1)).isoformat().replace("+00:00", "Z")
        _deliver(runtime, {"event": "customer.created", "event_occurred_at": at, "customer": customer})
    assert worker.drain(600)
    _jobs(runtime, worker, range(JOBS), CUSTOMERS, CUSTOMERS)
    with runtime.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def _statements(runtime: Runtime, worker: Worker) -> dict[str, Any]:
    """Each distinct statement the worker runs for new jobs (new and returning customers), with its parameters."""
    statements, listen = _captured(runtime.engine)
    try:
        _jobs(runtime, worker, range(JOBS, JOBS + 30), CUSTOMERS + JOBS, CUSTOMERS + JOBS)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", listen)
    verbs = ("SELECT", "UPDATE", "DELETE", "INSERT")
    distinct = {s: p for s, p in statements if s.lstrip().upper().startswith(verbs)}
    assert len(distinct) > 20, "the capture must see the worker's statements"
    return {s: p for s, p in distinct.items() if not " ".join(s.split()).startswith(IDENTITY_STATEMENTS)}


@pytest.fixture
def loaded(pg_database: str, secrets_env: None) -> Iterator[tuple[Runtime, Worker]]:
    """A PostgreSQL mirror of a few thousand customers with their jobs, enrolments and timers, analysed."""
    runtime = _load(pg_database)
    try:
        worker = runtime.new_worker("plans")
        _fill(runtime, worker)
        yield runtime, worker
    finally:
        runtime.engine.dispose()


def _captured(engine: Engine) -> tuple[list[tuple[str, Any]], Any]:
    seen: list[tuple[str, Any]] = []

    def listen(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, parameters[0] if many and parameters else parameters))

    event.listen(engine, "before_cursor_execute", listen)
    return seen, listen


def _plan(engine: Engine, statement: str, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    with engine.connect() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a Seq Scan now means no index can serve it
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters or {}).scalar_one()
        conn.rollback()
    return dict(plan[0]["Plan"])


def _whole_table_reads(
    node: Mapping[str, Any], measured: set[str], relation: str | None = None
) -> Iterator[tuple[str, str]]:
    """(table, how) for each scan in the plan that reads every row of the shop's table."""
    table = node.get("Relation Name", relation)
    if node["Node Type"] == "Seq Scan":
        yield str(table), "Seq Scan"
    condition = node.get("Index Cond")
    if condition is not None and table in measured and table in metadata.tables:
        columns = set(re.findall(r"\b([a-z_][a-z0-9_]*)\b", re.sub(r"'[^']*'", "", condition))) & set(
            metadata.tables[table].c.keys()
        )
        if columns <= _UNSELECTIVE:
            yield str(table), f"{node['Node Type']} on {sorted(columns)} alone: {condition}"
    for child in node.get("Plans", []):
        yield from _whole_table_reads(child, measured, table)


def test_no_per_event_query_scans_a_table_that_grows_with_the_shop(loaded: tuple[Runtime, Worker]) -> None:
    runtime, worker = loaded
    distinct = _statements(runtime, worker)
    allowed = SMALL_TABLES
    with runtime.engine.connect() as conn:
        measured = set(
            conn.exec_driver_sql(f"SELECT relname FROM pg_class WHERE reltuples >= {_MEASURED_ROWS}").scalars()
        )
    scans: dict[str, list[str]] = {}
    for statement, parameters in distinct.items():
        for table, how in _whole_table_reads(_plan(runtime.engine, statement, parameters), measured):
            if table not in allowed:
                scans.setdefault(table, []).append(f"{how} | {' '.join(statement.split())[:240]}")
    assert not scans, "per-event queries reading a whole table:\n" + json.dumps(scans, indent=1)


def _sqlite_whole_table_reads(plan: list[str]) -> list[str]:
    """The steps of a SQLite plan that read one of the shop's tables (or a whole index of it) through, or search it by
    the account alone. (A SCAN of a subquery, such as identity's counts bounded by LIMIT, reads only its own rows.)"""
    return [
        step
        for step in plan
        if step.split()[1] in metadata.tables and (step.startswith("SCAN ") or step.endswith("(account_id=?)"))
    ]


def test_no_per_event_query_walks_a_sqlite_table_that_grows_with_the_shop(sqlite_url: str, secrets_env: None) -> None:
    # SQLite (most shops' database) plans by its own rules: an ORDER BY or an OR can make it walk every enrolment
    # or opt-out of the shop, or search customers by the account alone, where PostgreSQL would use an index.
    runtime = _load(sqlite_url)
    try:
        worker = runtime.new_worker("plans")
        _fill(runtime, worker)
        distinct = _statements(runtime, worker)
        raw = runtime.engine.raw_connection()
        try:
            cursor = raw.cursor()
            walks: dict[str, list[str]] = {}
            for statement, parameters in distinct.items():
                if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                    continue
                plan = [str(row[3]) for row in cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters or ())]
                steps = [s for s in _sqlite_whole_table_reads(plan) if s.split()[1] not in SMALL_TABLES]
                if steps:
                    walks[" ".join(statement.split())[:240]] = steps
        finally:
            raw.close()
    finally:
        runtime.engine.dispose()
    assert not walks, "per-event statements walking a whole table on SQLite:\n" + json.dumps(walks, indent=1)
