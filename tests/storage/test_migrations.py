"""Alembic migrations on both databases: they build the schema, are idempotent, and match ``storage.tables``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from fieldrelay.storage.db import alembic_config, make_engine, upgrade
from fieldrelay.storage.tables import metadata


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[Engine]:
    """An engine on a fresh, empty database (SQLite file or new PostgreSQL database)."""
    eng = make_engine(empty_db_url)
    try:
        yield eng
    finally:
        eng.dispose()


def _head(engine: Engine) -> str:
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    head = script.get_current_head()
    assert head is not None
    return head


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _schema(engine: Engine) -> dict[str, Any]:
    """Tables with their columns, indexes and unique constraints, as the database reports them."""
    insp = inspect(engine)
    result: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        result[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(table)
            ),
            "uniques": sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)),
        }
    return result


def test_upgrade_creates_the_schema_on_an_empty_database(engine: Engine) -> None:
    assert inspect(engine).get_table_names() == []
    assert _current_revision(engine) is None

    upgrade(engine)

    tables = set(inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables
    assert tables - set(metadata.tables) == {"alembic_version"}
    assert _current_revision(engine) == _head(engine)


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    before = _schema(engine)
    revision = _current_revision(engine)

    upgrade(engine)

    assert _schema(engine) == before
    assert _current_revision(engine) == revision == _head(engine)


def test_migrated_schema_matches_the_table_definitions(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        differences = compare_metadata(context, metadata)
    # No type-equivalence noise needs ignoring: both dialects report an empty diff as is.
    assert differences == [], f"migrations and storage.tables disagree: {differences}"
