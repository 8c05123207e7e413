"""Regressions found outside the Stripe connector while testing it, fixed where they live."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fieldrelay.api.app import create_app
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.storage.tables import inbox
from tests.conftest import START
from tests.helpers import signed


@pytest.fixture
def pg_runtime(pg_database: str, settings: Settings, clock: SimulatedClock, secrets_env: None) -> Iterator[Runtime]:
    """A runtime on PostgreSQL only: SQLite does not enforce column lengths or refuse NUL characters."""
    rt = build_runtime(pg_database, settings=settings, clock=clock, migrate=False)
    try:
        yield rt
    finally:
        rt.engine.dispose()


@pytest.mark.parametrize("event", ["job.completed\x00", "job." + "x" * 120], ids=["nul", "long"])
def test_signed_housecallpro_delivery_with_an_odd_event_name_is_stored_on_postgres(
    pg_runtime: Runtime, event: str
) -> None:
    body, headers = signed({"event": event, "event_occurred_at": "2026-11-02T14:59:00Z"}, START)
    response = TestClient(create_app(pg_runtime)).post("/webhooks/housecallpro", content=body, headers=headers)
    with pg_runtime.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(inbox)).scalar_one()
    assert (response.status_code, stored) == (202, 1)
