"""The Health page (owner and operations): the backlog of inbox, timers and outbox with the oldest wait per connector,
kind or target, each outside CRM's circuit, dead rows by connector, and webhooks, applied events and deliveries per
minute; every table with its chart and its CSV."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from fieldrelay.service.access.permissions import Action
from fieldrelay.storage.ops import health
from fieldrelay.storage.ops.errors import open_error_counts
from fieldrelay.web import render
from fieldrelay.web.charts import bar_chart, line_chart
from fieldrelay.web.data_tables import DataTable, table_csv
from fieldrelay.web.guard import Person, allowed_to
from fieldrelay.web.state import runtime_of

router = APIRouter()
SPANS = (15, 60, 180)  # minutes of the per-minute charts
DEFAULT_SPAN = 60


def _tables(request: Request, minutes: int) -> list[DataTable]:
    runtime = runtime_of(request)
    account, now = runtime.settings.account_id, runtime.clock.now()
    minutes = minutes if minutes in SPANS else DEFAULT_SPAN
    label = render.shop_time_of(request)
    with runtime.engine.connect() as conn:
        waiting = health.backlog(conn, account, now)
        circuits = health.circuits(conn, account, list(runtime.settings.crm.targets))
        dead = open_error_counts(conn, account)
        flow = health.per_minute(conn, account, now, minutes)
    minute_starts = [now - timedelta(minutes=minutes - i) for i in range(minutes)]
    return [
        DataTable(
            "backlog",
            "Backlog: waiting rows and the oldest wait",
            ("queue", "connector, kind or target", "waiting", "oldest wait (min)"),
            [(b.queue, b.target, b.waiting, round(b.oldest_seconds / 60, 1)) for b in waiting],
            bar_chart(
                "Oldest wait per queue and target",
                "Minutes the oldest waiting row has waited, per queue and connector, timer kind or target.",
                [(f"{b.queue} {b.target}", round(b.oldest_seconds / 60, 1)) for b in waiting],
                lambda v: f"{v:g} min",
            ),
            note="Nothing waiting is healthy; a wait that keeps growing means the worker is stuck or a target is down.",
        ),
        DataTable(
            "circuits",
            "Outside CRM circuits",
            ("target", "state", "last try", "next probe"),
            [
                (
                    c.target,
                    "open" if c.open else "closed",
                    label(c.last_try_at, "%Y-%m-%d %H:%M") if c.last_try_at else None,
                    label(c.next_probe_at, "%Y-%m-%d %H:%M") if c.next_probe_at else None,
                )
                for c in circuits
            ],
            note="Open: the target's latest try failed as an outage, so its rows wait for the probe without spending "
            "tries. No outside CRM configured: nothing to show.",
        ),
        DataTable(
            "dead_rows",
            "Dead rows and errors by connector",
            ("kind", "connector or target", "rows"),
            [(kind, source, n) for (kind, source), n in sorted(dead.items())],
            bar_chart(
                "Rows in the error queue by connector",
                "Open errors per kind (webhook, timer, delivery) and connector or target.",
                [(f"{kind} {source}", n) for (kind, source), n in sorted(dead.items())],
            ),
        ),
        DataTable(
            "per_minute",
            f"The last {minutes} minutes, minute by minute",
            ("minute", *flow),
            [
                (label(start, "%H:%M"), *(series[i] for series in flow.values()))
                for i, start in enumerate(minute_starts)
            ],
            _flow_charts(flow, [label(start, "%H:%M") for start in minute_starts]),
        ),
    ]


def _flow_charts(flow: dict[str, list[int]], labels: list[str]) -> Markup:
    """One small trend per series (webhooks acknowledged, events applied, deliveries sent)."""
    return Markup("").join(
        line_chart(
            f"{name} per minute",
            f"{name.capitalize()} in each minute of the span; the table below has the same counts.",
            [(label, float(count)) for label, count in zip(labels, counts, strict=True)],
        )
        for name, counts in flow.items()
    )


@router.get("/health", response_class=HTMLResponse)
def health_page(
    request: Request,
    minutes: int = Query(DEFAULT_SPAN),
    person: Person = Depends(allowed_to(Action.READ_REPORTS)),
) -> HTMLResponse:
    """The system's health now, and the chosen span's minutes."""
    chosen = minutes if minutes in SPANS else DEFAULT_SPAN
    return render.page(
        request,
        "health.html",
        person,
        tables=_tables(request, chosen),
        spans=SPANS,
        minutes=chosen,
        query=f"minutes={chosen}",
        csv_base="/health",
    )


@router.get("/health/{key}.csv")
def health_csv(
    request: Request,
    key: str,
    minutes: int = Query(DEFAULT_SPAN),
    person: Person = Depends(allowed_to(Action.READ_REPORTS)),
) -> Response:
    """One of the page's tables as CSV."""
    return table_csv(request, person, _tables(request, minutes), key, "health")
