"""The Sequences page (owner and operations): each follow-up sequence's funnel over 7, 30 or 90 days — enrolled,
sent, delivered, opened, clicked, replied, booked, opted out — its steps with how enrolments ended at each, the revenue
of jobs booked while enrolled, and a read-only diagram of its steps from fieldrelay.yaml; CSV of every table."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from fieldrelay.domain.money import dollars
from fieldrelay.reports.trends import WINDOWS
from fieldrelay.service.access.permissions import Action
from fieldrelay.storage.kpis.funnels import BOOKED, OPTED_OUT, REPLIED, SequenceFigures, sequence_figures
from fieldrelay.web import render
from fieldrelay.web.charts import bar_chart
from fieldrelay.web.data_tables import DataTable, table_csv
from fieldrelay.web.guard import Person, allowed_to
from fieldrelay.web.reports_page import DEFAULT_DAYS, window
from fieldrelay.web.sequence_diagram import sequence_diagram
from fieldrelay.web.state import runtime_of

router = APIRouter()


def _funnel(figures: SequenceFigures) -> list[tuple[str, int]]:
    steps = figures.steps.values()
    return [
        ("enrolled", figures.enrolled),
        ("sent", sum(s.sent for s in steps)),
        ("delivered", sum(s.delivered for s in steps)),
        ("opened", sum(s.opened for s in steps)),
        ("clicked", sum(s.clicked for s in steps)),
        ("replied", figures.count(REPLIED)),
        ("booked", figures.count(BOOKED)),
        ("opted out", figures.count(OPTED_OUT)),
    ]


def _tables(request: Request, days: int) -> list[tuple[str, str, Markup | None, list[DataTable]]]:
    """Per configured sequence: its name, description, diagram and tables."""
    runtime = runtime_of(request)
    now = runtime.clock.now()
    with runtime.engine.connect() as conn:
        found = sequence_figures(conn, runtime.settings.account_id, now - timedelta(days=days), now)
    shown: list[tuple[str, str, Markup | None, list[DataTable]]] = []
    configured = runtime.settings.sequences
    # Configured sequences in their order, then any that enrolled people in the window but are no longer configured.
    for name in [*configured, *sorted(set(found) - set(configured))]:
        sequence = configured.get(name)
        figures = found.get(name, SequenceFigures())
        funnel = _funnel(figures)
        order = [step.name for step in sequence.steps] if sequence else []
        steps = sorted(figures.steps.items(), key=lambda item: order.index(item[0]) if item[0] in order else -1)
        reasons = sorted(figures.ended)
        tables = [
            DataTable(
                f"{name}-funnel",
                "Funnel",
                ("step", "enrolments or messages"),
                funnel,
                bar_chart(
                    f"{name.replace('_', ' ')}: funnel",
                    "Enrolments that started in the window, the messages their steps sent, delivered, opened and "
                    "clicked, and the enrolments that ended on a reply, a booking or an opt-out.",
                    [(label.capitalize(), n) for label, n in funnel],
                ),
                note=f"Revenue from jobs booked while enrolled: {dollars(figures.revenue_cents)}. "
                f"Still running: {figures.active}; finished every step: {figures.completed}.",
            ),
            DataTable(
                f"{name}-steps",
                "By step",
                ("step", "sent", "delivered", "opened", "clicked", *(f"ended: {r}" for r in reasons)),
                [
                    (step, s.sent, s.delivered, s.opened, s.clicked, *(s.ended.get(r, 0) for r in reasons))
                    for step, s in steps
                ],
            ),
        ]
        if sequence is None:
            shown.append((name, "No longer in fieldrelay.yaml.", None, tables))
        else:
            shown.append((name, sequence.description, sequence_diagram(name, sequence), tables))
    return shown


@router.get("/sequences", response_class=HTMLResponse)
def sequences_page(
    request: Request,
    days: int = Query(DEFAULT_DAYS),
    person: Person = Depends(allowed_to(Action.READ_REPORTS)),
) -> HTMLResponse:
    """Every configured sequence's funnel for the chosen window, with its diagram."""
    chosen = window(days)
    return render.page(
        request,
        "sequences.html",
        person,
        sequences=_tables(request, chosen),
        days=chosen,
        windows=WINDOWS,
        query=f"days={chosen}",
        csv_base="/sequences",
    )


@router.get("/sequences/{key}.csv")
def sequences_csv(
    request: Request,
    key: str,
    days: int = Query(DEFAULT_DAYS),
    person: Person = Depends(allowed_to(Action.READ_REPORTS)),
) -> Response:
    """One sequence's funnel or step table as CSV."""
    tables = [table for _, _, _, found in _tables(request, window(days)) for table in found]
    return table_csv(request, person, tables, key, f"sequences-{window(days)}d")
