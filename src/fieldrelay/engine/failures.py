"""Which failures are the data's (retrying cannot help: to the error queue at once) and which are passing.

A data error is one the same row meets on every try: the database refuses the values (a PostgreSQL ``DataError``:
NUL, a number or date out of range; a NOT NULL, CHECK or foreign-key violation), a value Python cannot convert or
bind (``ValueError``, ``OverflowError``: an integer too large for SQLite, a date past year 9999), or a parser's
surprise at the data (``TypeError``, ``KeyError`` …). Everything else (the database unreachable, locked or timing
out, a vendor's 5xx, a unique-key race with another worker) may pass and is retried with backoff.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError, StatementError

from fieldrelay.domain.redaction import redact
from fieldrelay.domain.text import storable

_DATA_EXCEPTIONS: tuple[type[BaseException], ...] = (
    ValueError,  # includes UnicodeError and domain.events.OutOfRange
    ArithmeticError,  # OverflowError, ZeroDivisionError
    TypeError,
    LookupError,  # KeyError, IndexError
    AttributeError,
    RecursionError,
)
# PostgreSQL SQLSTATE of integrity violations that no retry can mend (23505, a unique key, may be a race).
_DATA_SQLSTATES = {"23502", "23503", "23514", "23P01"}
_SQLITE_DATA_MESSAGES = ("NOT NULL constraint failed", "CHECK constraint failed", "FOREIGN KEY constraint failed")


def is_data_error(exc: BaseException) -> bool:
    """True when ``exc`` comes from the row's own data, so the same try will always fail the same way."""
    if isinstance(exc, DataError):
        return True
    if isinstance(exc, IntegrityError):
        state = getattr(exc.orig, "sqlstate", None)
        if state is not None:
            return state in _DATA_SQLSTATES
        return any(message in str(exc.orig) for message in _SQLITE_DATA_MESSAGES)
    if isinstance(exc, StatementError):  # a value SQLAlchemy could not bind, wrapped
        return exc.orig is not None and isinstance(exc.orig, _DATA_EXCEPTIONS)
    return isinstance(exc, _DATA_EXCEPTIONS)


def describe(exc: BaseException) -> str:
    """One storable line (the first of the message) for the error queue and the logs, without personal data."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return storable(redact(f"{type(exc).__name__}: {first}" if first else type(exc).__name__))
