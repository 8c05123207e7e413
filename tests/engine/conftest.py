"""Fixtures shared by the engine's crash tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine


@pytest.fixture
def reader(empty_db_url: str) -> Iterator[Engine]:
    """A plain engine for polling: no BEGIN IMMEDIATE, so on SQLite it never takes the write lock."""
    engine = create_engine(empty_db_url)
    try:
        yield engine
    finally:
        engine.dispose()
