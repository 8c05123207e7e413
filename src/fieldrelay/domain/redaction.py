"""One redaction for every text that leaves a process: log lines, stored error texts, API error fields.

Personal data (phones, emails, names, streets) must never be written there (see DESIGN.md). Names and streets
cannot be told from other words in free text, so the places that carry them wholesale are cut out: SQL parameter
lists (engines are also created with ``hide_parameters``), PostgreSQL's ``DETAIL`` with a row's values, pydantic's
``input_value``. Phones, emails and US street addresses are recognised wherever they appear.
"""

from __future__ import annotations

import re

# SQLAlchemy appends the statement's bound values: "[parameters: {...}]" (up to the end of the line or message).
_SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\s*(?:\n|$|\(Background))", re.DOTALL)
# PostgreSQL: "DETAIL:  Key (email)=(pat@example.com) already exists." / "Failing row contains (...)."
_PG_DETAIL = re.compile(r"(DETAIL:).*?(?=\n(?!\s)|\Z)", re.DOTALL)
_PG_ROW = re.compile(r"(Failing row contains|Key \([^)]*\)=)\s*\(.*?\)(?=[ .,\n]|$)", re.DOTALL)
# pydantic's errors quote the offending value: "input_value='Pat Doe', input_type=str".
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=)", re.DOTALL)
_EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
# North American and E.164 numbers: +1 (512) 555-0142, 512.555.0142, +447911123456 …, not inside a longer word.
_PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(?!\w)|(?<![\w+])\+\d{8,15}(?!\w)"
)
_STREET = re.compile(
    r"\b\d{1,6}\s+(?:[A-Za-z0-9.'-]+\s+){1,4}"
    r"(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Dr|Drive|Ln|Lane|Ct|Court|Way|Pl|Place|Pkwy|Parkway|Cir|Circle|"
    r"Ter|Terrace|Hwy|Highway|Trl|Trail|Loop)\b\.?",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """``text`` with personal data replaced by placeholders (``<email>``, ``<phone>``, ``<street>``, ``…``)."""
    text = _SQL_PARAMETERS.sub("[parameters hidden]", text)
    text = _PG_DETAIL.sub(r"\1 (values hidden)", text)
    text = _PG_ROW.sub(r"\1 (…)", text)
    text = _INPUT_VALUE.sub("input_value=…", text)
    text = _EMAIL.sub("<email>", text)
    text = _PHONE.sub("<phone>", text)
    return _STREET.sub("<street>", text)


def redact_optional(text: str | None) -> str | None:
    """``redact`` for a text that may be missing."""
    return None if text is None else redact(text)
