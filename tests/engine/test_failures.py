"""Which failures go to the error queue at once and which are retried."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from fieldrelay.domain.events import OutOfRange
from fieldrelay.engine.failures import describe, is_data_error


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _overflow() -> Exception:
    try:
        datetime.fromisoformat("0001-01-01T00:00:00+14:00").astimezone()
    except OverflowError as exc:
        return exc
    raise AssertionError("no overflow")


@pytest.mark.parametrize(
    "exc",
    [
        DataError("INSERT", {}, Exception("PostgreSQL text fields cannot contain NUL (0x00) bytes")),
        IntegrityError("INSERT", {}, _PgError("23502")),  # NOT NULL
        IntegrityError("INSERT", {}, _PgError("23514")),  # CHECK
        IntegrityError("INSERT", {}, sqlite3.IntegrityError("NOT NULL constraint failed: customers.id")),
        OverflowError("Python int too large to convert to SQLite INTEGER"),
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        ValueError("Exceeds the limit (4300 digits) for integer string conversion"),
        OutOfRange("occurred_at 0001-01-01T00:00:00+14:00 is out of range"),
        _overflow(),
        KeyError("job_id"),
    ],
)
def test_data_errors_can_never_succeed_as_they_are(exc: Exception) -> None:
    assert is_data_error(exc)


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("SELECT", {}, sqlite3.OperationalError("database is locked")),
        OperationalError("SELECT", {}, _PgError("55P03")),  # lock_timeout
        OperationalError("SELECT", {}, _PgError("57014")),  # statement_timeout
        IntegrityError("INSERT", {}, _PgError("23505")),  # a unique key: another worker's row, seen on the next try
        IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed: customers.id")),
        TimeoutError(),
        ConnectionResetError(),
    ],
)
def test_passing_failures_are_retried(exc: Exception) -> None:
    assert not is_data_error(exc)


def test_the_description_is_one_line_without_parameters() -> None:
    exc = IntegrityError("INSERT INTO customers", {"first_name": "Keisha"}, _PgError("23502"))
    text = describe(exc)
    assert text.startswith("IntegrityError: ") and "\n" not in text and "Keisha" not in text
