"""Reading a submission body: a JSON object, else ``application/x-www-form-urlencoded``, sniffed from the bytes.

The body is sniffed rather than read by ``Content-Type`` because the inbox keeps the bytes, not every header,
and the worker parses from the inbox.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fieldrelay.domain.text import storable
from fieldrelay.service.payloads import load_json
from fieldrelay.service.ports import ParseError

_MAX_FIELDS = 500


def read_fields(body: bytes) -> dict[str, object]:
    """Every field of the body by name (blank values kept); ParseError when the body is neither form."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"body is not UTF-8 text: {exc}") from exc
    if text.lstrip().startswith(("{", "[")):
        data = load_json(text)
        if not isinstance(data, dict):
            raise ParseError("body is JSON but not a JSON object")
        return data
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS)
    except ValueError as exc:
        raise ParseError(f"body is not form-encoded: {exc}") from exc
    fields: dict[str, object] = {}
    for raw_key, raw_value in pairs:
        key, value = storable(raw_key), storable(raw_value)  # %00 decodes to NUL, which PostgreSQL refuses
        # A repeated field keeps its first non-blank value.
        if key not in fields or (not str(fields[key]).strip() and value.strip()):
            fields[key] = value
    return fields


def text_fields(fields: dict[str, object], names: set[str]) -> dict[str, str]:
    """The named fields as stripped text, blanks dropped; ParseError when one is a list, an object or a boolean."""
    result: dict[str, str] = {}
    for name in names & fields.keys():
        value = fields[name]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ParseError(f"field {name!r} must be text, not {type(value).__name__}")
        text = str(value).strip()
        if text:
            result[name] = text
    return result


def is_filled(value: object) -> bool:
    """True when a honeypot value holds anything at all."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return value not in ([], {}, False)
