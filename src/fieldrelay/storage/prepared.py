"""Statements built once and run with parameters: on the hot path, building a statement cost more than running it.

Profiling bench/ingest.py showed about 70% of the worker's time in SQLAlchemy building statements and their
cache keys (``.values(...)`` and ``where(col == literal)`` per call). A statement object built once carries a
memoised cache key, so running it with a parameter dict skips both. Parameter names for WHERE clauses start with
``b_`` so they never collide with the column names an UPDATE sets from the same dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Select, Table, Update, bindparam, insert, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite


@cache
def insert_into(table: Table) -> Insert:
    """INSERT into ``table``; the columns are the keys of the parameters."""
    return insert(table)


@cache
def insert_ignore_into(dialect_name: str, table: Table) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING RETURNING 1 (rowcount is -1 for it under psycopg 3)."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement: Insert = dialect.insert(table).on_conflict_do_nothing().returning(literal_column("1"))
    return statement


@cache
def upsert_into(dialect_name: str, table: Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> Insert:
    """INSERT … ON CONFLICT (``keys``) DO UPDATE SET ``columns`` from the row offered, on either database."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in columns}
    )
    return upsert


@cache
def update_by_id(table: Table) -> Update:
    """UPDATE one row by ``b_id`` within account ``b_account``; the columns set are the other parameter keys."""
    return update(table).where(table.c.id == bindparam("b_id"), table.c.account_id == bindparam("b_account"))


@cache
def select_by_id(table: Table, lock: bool) -> Select[Any]:
    """SELECT one row by ``b_id`` within account ``b_account``, FOR UPDATE when ``lock``."""
    query = select(table).where(table.c.id == bindparam("b_id"), table.c.account_id == bindparam("b_account"))
    return query.with_for_update() if lock else query


@cache
def locked(query: Select[Any]) -> Select[Any]:
    """``query`` FOR UPDATE (cached per prebuilt query)."""
    return query.with_for_update()


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on either database; True when a row was written."""
    return conn.execute(insert_ignore_into(conn.dialect.name, table), dict(values)).first() is not None
