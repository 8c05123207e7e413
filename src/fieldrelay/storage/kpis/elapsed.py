"""Seconds between two timestamps, computed by the database: SQLite and PostgreSQL differ in interval arithmetic.

The KPI samples ask the database for plain numbers (seconds since the window opened, minutes to a response) rather
than fetching timestamps, which at 50,000 leads costs most of a page's time in parsing alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class elapsed_seconds(FunctionElement[float]):  # a SQL function, named like one
    """``elapsed_seconds(start, end)``: seconds from ``start`` to ``end`` (negative when ``end`` is earlier)."""

    type = Float()
    inherit_cache = True
    name = "elapsed_seconds"


def _parts(element: elapsed_seconds, compiler: SQLCompiler, **kw: Any) -> tuple[str, str]:
    start, end = list(element.clauses)
    return compiler.process(start, **kw), compiler.process(end, **kw)


@compiles(elapsed_seconds, "sqlite")
def _sqlite(element: elapsed_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = _parts(element, compiler, **kw)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(elapsed_seconds, "postgresql")
def _postgresql(element: elapsed_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = _parts(element, compiler, **kw)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"
