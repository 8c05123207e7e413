"""Shared fixtures: a migrated database per test (a copy) on SQLite and on PostgreSQL; a simulated-clock runtime."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from fieldrelay.api.app import create_app
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.storage.db import make_engine, upgrade

PG_ADMIN_DSN = os.environ.get("FIELDRELAY_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
HCP_SECRET = "test-hcp-secret"
API_TOKEN = "test-api-token"
START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago

TEST_YAML = """
account_id: default
business:
  name: Rapid Rooter Plumbing
  time_zone: America/Chicago
retry:
  max_attempts: 3
  base_seconds: 30
  max_seconds: 120
worker:
  batch_size: 50
  lease_seconds: 30
review_request:
  delay_minutes: 30
  review_url: https://g.page/r/rapid-rooter/review
# The playbook's fields, but of its texts only the review request: tests of intake, receipts and the engine count
# messages and timers, and read clearer without a confirmation and an ETA text beside every job. The playbook's
# other texts are tested with the default table (tests/service/test_mapping*.py).
field_mapping:
  job.booked: {write: {next_appointment_at: customer.next_appointment_at, service_type: job.service_type}}
  job.dispatched: {write: {assigned_technician: job.technicians, eta: job.scheduled_start}}
  job.completed: {write: {service_history: job, equipment: job.line_items, last_service_at: event.occurred_at}}
  job.invoiced: {write: {balance_cents: customer.open_balance_cents, line_items: job.line_items}}
  job.paid:
    write: {account_status: "text:active", last_paid_at: event.occurred_at, balance_cents: customer.open_balance_cents}
    trigger: [review_request]
# No follow-up sequences for the same reason; tests/service/test_sequences*.py run the default library.
sequences: {}
"""


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    """Skip locally when PostgreSQL is absent; in CI (CI=true) fail instead."""
    if _pg_available():
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is unreachable at {PG_ADMIN_DSN}; CI must run the PostgreSQL tests")
    pytest.skip("PostgreSQL is unreachable (allowed locally only)")


def _pg_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _pg_admin(statement: str, *names: str) -> None:
    """Run ``statement`` with the database ``names`` quoted into its ``{}`` on the server's maintenance database."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(*map(sql.Identifier, names)))


def _pg_name(kind: str) -> str:
    """A database name no other test, session or pytest run on this machine uses."""
    return f"fieldrelay_{kind}_{uuid.uuid4().hex[:12]}"


def _pg_drop(name: str) -> None:
    """Drop the database ``name``, ending any connection still open to it."""
    _pg_admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)


@contextmanager
def _pg_created(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database ``name``, dropped on exit; yields its SQLAlchemy URL."""
    _pg_admin("CREATE DATABASE {}", name)
    try:
        yield _pg_url(name)
    finally:
        _pg_drop(name)


class PgCopies:
    """Copies of the template database for the tests, each dropped on a background thread once its test is done.

    DROP DATABASE makes the server checkpoint, which takes a few tenths of a second: it runs while the next test (on
    SQLite, as a rule) does. The next copy is made only after that drop has finished, so the checkpoint never has to
    write out a new copy's pages, and at most one copy exists at a time.
    """

    def __init__(self, template: str) -> None:
        self._template = template
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-drop")
        self._dropping: Future[None] | None = None

    def take(self) -> str:
        """The name of a new copy of the template for one test (raises if the previous copy could not be dropped)."""
        if self._dropping is not None:
            self._dropping.result()
        name = _pg_name("test")
        _pg_admin("CREATE DATABASE {} TEMPLATE {}", name, self._template)
        return name

    def drop(self, name: str) -> None:
        """Start dropping a copy its test is done with."""
        self._dropping = self._dropper.submit(_pg_drop, name)

    def close(self) -> None:
        """Wait for the last drop; raise if it failed."""
        self._dropper.shutdown(wait=True)
        if self._dropping is not None:
            self._dropping.result()


def _migrate(url: str) -> None:
    """Run the Alembic migrations on ``url`` and close every connection the engine opened."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


# Migrating is the slow part of a fresh database, so the suite migrates twice per session (once per database kind)
# and hands every test a copy. Tests of the migrations themselves ask for an empty database instead.


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session, its WAL checkpointed into it, for tests to copy."""
    path = tmp_path_factory.mktemp("template") / "fieldrelay.db"
    _migrate(f"sqlite:///{path}")
    with closing(sqlite3.connect(path)) as conn:  # the last connection to close folds the WAL into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert not path.with_name(f"{path.name}-wal").exists(), "the template's WAL must be empty before it is copied"
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated once per session, closed to connections, dropped at the end; yields its name.

    ``CREATE DATABASE … TEMPLATE`` refuses while anyone is connected to the template, so after migrating nobody may
    connect to it again (ALLOW_CONNECTIONS false); copies are made without connecting to it.
    """
    require_postgres()
    name = _pg_name("template")
    with _pg_created(name) as url:
        _migrate(url)
        _pg_admin("ALTER DATABASE {} ALLOW_CONNECTIONS false", name)
        yield name


@pytest.fixture(scope="session")
def pg_copies(pg_template: str) -> Iterator[PgCopies]:
    """Copies of the session's template for the tests; every copy is dropped before the template is."""
    copies = PgCopies(pg_template)
    try:
        yield copies
    finally:
        copies.close()


@pytest.fixture
def pg_database(pg_copies: PgCopies) -> Iterator[str]:
    """A migrated PostgreSQL database for one test (a copy of the session's template), dropped afterwards."""
    name = pg_copies.take()
    try:
        yield _pg_url(name)
    finally:
        pg_copies.drop(name)


@pytest.fixture
def empty_pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards; yields its SQLAlchemy URL."""
    require_postgres()
    with _pg_created(_pg_name("test")) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite database for one test (a copy of the session's template)."""
    path = tmp_path / "fieldrelay.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database of its own for one test, once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_database"))


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database (no schema), once on SQLite and once on PostgreSQL: for tests of the migrations."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fieldrelay.db'}"
    return str(request.getfixturevalue("empty_pg_database"))


@pytest.fixture
def settings() -> Settings:
    """Test settings: short retry policy, 30-minute review request."""
    return parse_settings(TEST_YAML, "test.yaml")


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook secret and API token in the environment."""
    monkeypatch.setenv("FIELDRELAY_HOUSECALLPRO_SECRET", HCP_SECRET)
    monkeypatch.setenv("FIELDRELAY_API_TOKEN", API_TOKEN)


@pytest.fixture
def clock() -> SimulatedClock:
    """A simulated clock at Monday 09:00 Chicago."""
    return SimulatedClock(START)


@pytest.fixture
def runtime(db_url: str, settings: Settings, clock: SimulatedClock, secrets_env: None) -> Iterator[Runtime]:
    """A migrated database with connectors and a simulated clock, on both databases."""
    rt = build_runtime(db_url, settings=settings, clock=clock, migrate=False)  # db_url is a copy of a migrated one
    try:
        yield rt
    finally:
        rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """A test client of the app on the runtime (no worker thread: a test drains or advances the clock for work)."""
    with TestClient(create_app(runtime)) as test_client:
        yield test_client
