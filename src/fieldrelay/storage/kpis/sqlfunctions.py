"""SQL the KPI reads need where SQLite and PostgreSQL differ: whether a JSON list holds a value, and an exact median
computed by the database (so a page never fetches every value to find the middle one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Connection, Select, func, or_, select
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
