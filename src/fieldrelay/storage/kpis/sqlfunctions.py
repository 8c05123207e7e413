"""SQL the KPI reads need where SQLite and PostgreSQL differ: whether a JSON list holds a value, and an exact median
computed by the database (so a page never fetches every value to find the middle one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Connection, Select, Text, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class list_holds(FunctionElement[bool]):  # a SQL function, named like one
    """``list_holds(json_list, value)``: true when the JSON list (the technicians of a job) holds ``value``."""

    type = Boolean()
    inherit_cache = True
    name = "list_holds"


@compiles(list_holds, "sqlite")
def _sqlite(element: list_holds, compiler: SQLCompiler, **kw: Any) -> str:
    column, value = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = {value})"


@compiles(list_holds, "postgresql")
def _postgresql(element: list_holds, compiler: SQLCompiler, **kw: Any) -> str:
    column, value = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(CAST({column} AS JSONB) @> jsonb_build_array(CAST({value} AS TEXT)))"


def median(conn: Connection, values: Select[Any]) -> float | None:
    """The exact median of the one column ``values`` selects (None when it selects no row or only NULLs): the middle
    value, or the mean of the two middle ones, as ``statistics.median`` gives it."""
    inner = values.subquery()
    value = inner.c[0]
    ranked = (
        select(
            value.label("value"),
            func.row_number().over(order_by=value).label("rank"),
            func.count().over().label("n"),
        )
        .where(value.is_not(None))
        .subquery()
    )
    middle: ColumnElement[bool] = or_(ranked.c.rank == (ranked.c.n + 1) // 2, ranked.c.rank == (ranked.c.n + 2) // 2)
    found = conn.execute(select(func.avg(ranked.c.value)).where(middle)).scalar()
    return None if found is None else float(found)


class float_list(FunctionElement[str]):  # an aggregate SQL function, named like one
    """``float_list(x)``: the group's non-NULL numbers as one comma-separated text that gives each float back exactly
    (``parse_floats``): a median needs every value, and one row per group costs far less to fetch than one per value."""

    type = Text()
    inherit_cache = True
    name = "float_list"


@compiles(float_list, "sqlite")
def _sqlite_floats(element: float_list, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = (compiler.process(clause, **kw) for clause in element.clauses)
    # %!.17g: 17 significant digits by SQLite's exact conversion (plain %.17g rounds past the 16th).
    return f"group_concat(CASE WHEN {column} IS NOT NULL THEN printf('%!.17g', {column}) END, ',')"


@compiles(float_list, "postgresql")
def _postgresql_floats(element: float_list, compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = (compiler.process(clause, **kw) for clause in element.clauses)
    # float8 as text is the shortest form that reads back as the same float (PostgreSQL 12 on).
    return f"string_agg(CAST(CAST({column} AS DOUBLE PRECISION) AS TEXT), ',')"


def parse_floats(text: str | None) -> tuple[float, ...]:
    """The floats of a ``float_list``."""
    return tuple(map(float, text.split(","))) if text else ()
