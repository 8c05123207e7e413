"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL, a runtime on a simulated clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime, build_runtime

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


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards; yields its SQLAlchemy URL."""
    require_postgres()
    name = f"fieldrelay_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fieldrelay.db'}"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database URL."""
    return f"sqlite:///{tmp_path / 'fieldrelay.db'}"


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
    rt = build_runtime(db_url, settings=settings, clock=clock)
    try:
        yield rt
    finally:
        rt.engine.dispose()
