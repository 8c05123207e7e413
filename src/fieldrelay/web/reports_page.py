"""The Reports page (owner and operations): every KPI over 7, 30 or 90 days as a trend against its benchmark band,
split by technician or lead source, each chart's table and its CSV; "Check now" runs the stale-record check."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fieldrelay.reports.kpi import check_stale
from fieldrelay.reports.trends import WINDOWS, KpiFigures, kpi_figures
from fieldrelay.service.access.permissions import Action
from fieldrelay.web import render
from fieldrelay.web.data_tables import DataTable, table_csv
from fieldrelay.web.guard import Person, allowed_to
from fieldrelay.web.kpi_tables import report_tables
from fieldrelay.web.state import runtime_of

router = APIRouter()
DEFAULT_DAYS = 30


def window(days: int) -> int:
    """The chosen window when it is one the page offers, else the default (a stale link still shows a page)."""
    return days if days in WINDOWS else DEFAULT_DAYS


def _figures(request: Request, days: int, technician: str, source: str) -> tuple[KpiFigures, list[DataTable]]:
    runtime = runtime_of(request)
    with runtime.engine.connect() as conn:
        figures = kpi_figures(
            conn, runtime.settings.account_id, runtime.clock.now(), window(days), technician or None, source or None
        )
    return figures, report_tables(figures, render.shop_time_of(request))


@router.get("/reports", response_class=HTMLResponse)
def reports(
    request: Request,
    days: int = Query(DEFAULT_DAYS),
    technician: str = Query("", max_length=100),
    source: str = Query("", max_length=100),
    person: Person = Depends(allowed_to(Action.READ_REPORTS)),
) -> HTMLResponse:
    """The KPIs of the chosen window, narrowed to a technician or lead source when one is chosen."""
    figures, tables = _figures(request, days, technician, source)
    choices = {
        split: [group for group, _, _ in trend.groups]
        for trend in figures.trends
        if (split := trend.kpi.split) is not None
    }
    query = f"days={figures.days}&technician={technician}&source={source}"
    return render.page(
        request,
        "reports.html",
        person,
        figures=figures,
        summary=tables[0],
        tables=tables[1:],
        windows=WINDOWS,
        technician=technician,
        source=source,
        technicians=choices.get("technician", []),
        sources=choices.get("lead source", []),
        query=query,
        csv_base="/reports",
    )


@router.get("/reports/{key}.csv")
def reports_csv(
    request: Request,
    key: str,
    days: int = Query(DEFAULT_DAYS),
    technician: str = Query("", max_length=100),
    source: str = Query("", max_length=100),
    person: Person = Depends(allowed_to(Action.READ_REPORTS)),
) -> Response:
    """One of the page's tables as CSV, for the same window and filters."""
    _, tables = _figures(request, days, technician, source)
    return table_csv(request, person, tables, key, f"kpis-{window(days)}d")


@router.post("/reports/stale-check")
def stale_check_now(request: Request, person: Person = Depends(allowed_to(Action.READ_REPORTS))) -> Response:
    """Run the stale-record check now (it re-reads every stored delivery) and add its point to the trend."""
    runtime = runtime_of(request)
    check_stale(runtime, runtime.clock.now())  # a reading kept as a figure: it changes no record, so is not audited
    return RedirectResponse("/reports", status_code=303)
