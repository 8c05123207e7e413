"""The tables behind the charts: one shape for the page's table (the chart's accessible fallback) and its CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup

from fieldrelay.web import render
from fieldrelay.web.guard import Person

Cell = str | int | float | None


@dataclass(frozen=True)
class DataTable:
    """A named table: ``key`` names its CSV (``/reports/<key>.csv``), ``chart`` is the SVG drawn from it."""

    key: str
    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[Cell, ...]]
    chart: Markup | None = None
    note: str = ""


def as_csv(table: DataTable) -> str:
    """The table as CSV text (a header row, then the rows; an empty cell for a missing figure)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(["" if cell is None else cell for cell in row] for row in table.rows)
    return out.getvalue()


def csv_download(table: DataTable, stem: str) -> Response:
    """The table as a CSV file the browser saves as ``<stem>-<key>.csv``."""
    return Response(
        as_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{stem}-{table.key}.csv"'},
    )


def table_csv(request: Request, person: Person, tables: Sequence[DataTable], key: str, stem: str) -> Response:
    """The page's table named ``key`` as a CSV download, or a 404 page when it has none by that name."""
    table = next((table for table in tables if table.key == key), None)
    if table is None:
        return render.error_page(request, 404, "No such table", f"This page has no table named {key}.", person)
    return csv_download(table, stem)
