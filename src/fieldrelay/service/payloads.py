"""Reading a vendor's JSON body: anything the parser or the databases cannot take is a ParseError, never a crash."""

from __future__ import annotations

import json
from typing import Any

from fieldrelay.domain.text import storable_json
from fieldrelay.service.ports import ParseError


def load_json(body: bytes | str) -> Any:
    """The parsed body with its text made storable (domain/text.py); ParseError for what cannot be read.

    ``json.loads`` raises JSONDecodeError for bad JSON, UnicodeDecodeError for bad UTF-8, a plain ValueError for an
    integer over 4,300 digits (CPython's int-conversion limit) and RecursionError for deep nesting.
    """
    try:
        return storable_json(json.loads(body))
    except RecursionError as exc:
        raise ParseError("body is nested too deeply") from exc
    except ValueError as exc:
        raise ParseError(f"body is not JSON: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
