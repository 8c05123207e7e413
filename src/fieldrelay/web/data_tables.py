"""The tables behind the charts: one shape for the page's table (the chart's accessible fallback) and its CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi.responses import Response
from markupsafe import Markup

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


def pick(tables: Sequence[DataTable], key: str) -> DataTable | None:
    """The table named ``key``, if the page has one."""
    return next((table for table in tables if table.key == key), None)
