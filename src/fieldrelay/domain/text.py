"""Text every database can store: no lone UTF-16 surrogate (not encodable as UTF-8), no NUL (PostgreSQL refuses it)."""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD and each NUL dropped (the rest unchanged)."""
    if text.isascii() and "\x00" not in text:
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else REPLACEMENT, text)


def is_storable(text: str) -> bool:
    """True when ``text`` holds neither a lone surrogate nor a NUL."""
    return _UNSTORABLE.search(text) is None


def storable_json(value: Any) -> Any:
    """A parsed JSON value with every string, keys included, made storable (RecursionError past Python's depth)."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable_json(item) for key, item in value.items()}
    return value
