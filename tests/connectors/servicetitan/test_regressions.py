"""Regression found while writing this connector: a three-letter country from a field tool failed the customer's
transaction on PostgreSQL (SQLite does not enforce VARCHAR lengths, which is why only PostgreSQL showed it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.service import bus
from fieldrelay.service.context import HandlerContext
from fieldrelay.storage.mirror import SqlMirror
from tests.conftest import START


@pytest.fixture
def pg_runtime(pg_database: str, settings: Settings, clock: SimulatedClock, secrets_env: None) -> Iterator[Runtime]:
    """A runtime on a fresh PostgreSQL database."""
    rt = build_runtime(pg_database, settings=settings, clock=clock, migrate=False)
    try:
        yield rt
    finally:
        rt.engine.dispose()


def test_customer_with_three_letter_country_is_applied_on_postgres(pg_runtime: Runtime) -> None:
    snapshot = ev.CustomerSnapshot(
        external_id="c1", first_name="Pat", address=ev.Address(street="1 Main St", city="Austin", country="USA")
    )
    with pg_runtime.engine.begin() as conn:
        ctx = HandlerContext(store=SqlMirror(conn, "default", START), now=START, settings=pg_runtime.settings)
        bus.apply(ctx, ev.CustomerCreated(source="housecallpro", occurred_at=START, customer=snapshot))
