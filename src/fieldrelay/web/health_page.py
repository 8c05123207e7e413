"""The Health page (owner and operations): the backlog of inbox, timers and outbox with the oldest wait per connector,
kind or target now and over the last hours (the worker's samples), each outside CRM's circuit as its breaker recorded
it, dead rows by connector, and webhooks, applied events and deliveries per minute; every table with its chart and
its CSV."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from fieldrelay.service.access.permissions import Action
from fieldrelay.storage.ops import circuits, health, samples
from fieldrelay.storage.ops.errors import open_error_counts
from fieldrelay.web import render
from fieldrelay.web.charts import bar_chart, line_chart
from fieldrelay.web.data_tables import DataTable, table_csv
from fieldrelay.web.guard import Person, allowed_to
from fieldrelay.web.state import runtime_of

router = APIRouter()
SPANS = (15, 60, 180)  # minutes of the per-minute charts
DEFAULT_SPAN = 60
WINDOWS = (1, 3, 24)  # hours of the backlog's history
DEFAULT_WINDOW = 3
STATES = {"open": "open", "half_open": "half-open (probing)", "closed": "closed"}


def _tables(request: Request, minutes: int, hours: int) -> list[DataTable]:
    runtime = runtime_of(request)
    account, now = runtime.settings.account_id, runtime.clock.now()
    minutes = minutes if minutes in SPANS else DEFAULT_SPAN
    hours = hours if hours in WINDOWS else DEFAULT_WINDOW
    label = render.shop_time_of(request)
    with runtime.engine.connect() as conn:
        waiting = health.backlog(conn, account, now)
        history = samples.window(conn, account, now, hours * 60)
        breakers = circuits.current(conn, account, list(runtime.settings.crm.targets))
        dead = open_error_counts(conn, account)
        flow = health.per_minute(conn, account, now, minutes)
    first_minute = health.minute_of(now) - minutes + 1
    minute_starts = [samples.at_minute(first_minute + i) for i in range(minutes)]
    bucket_starts = samples.bucket_starts(now, hours * 60)
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
        *_history_tables(history, bucket_starts, hours, lambda at: label(at, "%m-%d %H:%M")),
        DataTable(
            "circuits",
            "Outside CRM circuits",
            ("target", "state", "since", "next probe", "as told by"),
            [
                (
                    c.target,
                    STATES.get(c.state, c.state),
                    label(c.since, "%Y-%m-%d %H:%M") if c.since else None,
                    label(c.next_probe_at, "%Y-%m-%d %H:%M") if c.next_probe_at else None,
                    "the breaker" if c.recorded else "the latest try (the breaker recorded nothing yet)",
                )
                for c in breakers
            ],
            note="Open: the target is down, so its rows wait for the probe without spending tries; half-open: the "
            "probe is under way. Each worker keeps its own breaker: this is the latest change any of them recorded. "
            "No outside CRM configured: nothing to show.",
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


def _history_tables(
    history: list[samples.SamplePoint], starts: list[datetime], hours: int, label: Callable[[datetime], str]
) -> list[DataTable]:
    """The backlog over the window from the worker's samples: per queue (charts), and per connector, kind or target."""
    totals = {(p.start, p.queue): p for p in history if p.target == samples.TOTAL}
    labels = [label(start) for start in starts]

    def series(queue: str, minutes: bool) -> list[float | None]:
        points = [totals.get((start, queue)) for start in starts]
        if minutes:
            return [round(p.oldest_seconds / 60, 1) if p else None for p in points]
        return [p.waiting if p else None for p in points]

    span = "hour" if hours == 1 else f"{hours} hours"
    step = "" if hours == 1 else f" ({hours} minutes a point, the worst minute of each)"
    gap = "A gap: no worker sampled those minutes."
    return [
        DataTable(
            "backlog_history",
            f"Backlog over the last {span}{step}",
            ("from", *(f"{q} waiting" for q in samples.QUEUES), *(f"{q} oldest wait (min)" for q in samples.QUEUES)),
            [
                (
                    labels[i],
                    *(series(q, False)[i] for q in samples.QUEUES),
                    *(series(q, True)[i] for q in samples.QUEUES),
                )
                for i in range(len(starts))
            ],
            _trend_charts(
                [(f"Rows waiting over time: {q}", series(q, False)) for q in samples.QUEUES]
                + [(f"Oldest wait over time: {q}", series(q, True)) for q in samples.QUEUES],
                labels,
            ),
            note=f"The worker samples every queue once a minute and keeps a week. {gap}",
        ),
        DataTable(
            "backlog_targets",
            f"Backlog over the last {span} by connector, timer kind or target",
            ("from", "queue", "connector, kind or target", "most waiting", "oldest wait (min)"),
            [
                (label(p.start), p.queue, p.target, p.waiting, round(p.oldest_seconds / 60, 1))
                for p in history
                if p.target != samples.TOTAL
            ],
            note="Only the points where rows were waiting.",
        ),
    ]


def _trend_charts(charts: list[tuple[str, list[float | None]]], labels: list[str]) -> Markup:
    """One small trend per series, a gap where there is no figure."""
    return Markup("").join(
        line_chart(title, f"{title}; the table below has the same figures.", list(zip(labels, values, strict=True)))
        for title, values in charts
    )


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
    hours: int = Query(DEFAULT_WINDOW),
    person: Person = Depends(allowed_to(Action.READ_REPORTS)),
) -> HTMLResponse:
    """The system's health now, the backlog over the chosen hours, and the chosen span's minutes."""
    chosen = minutes if minutes in SPANS else DEFAULT_SPAN
    window = hours if hours in WINDOWS else DEFAULT_WINDOW
    return render.page(
        request,
        "health.html",
        person,
        tables=_tables(request, chosen, window),
        spans=SPANS,
        minutes=chosen,
        windows=WINDOWS,
        hours=window,
        query=f"minutes={chosen}&hours={window}",
        csv_base="/health",
    )


@router.get("/health/{key}.csv")
def health_csv(
    request: Request,
    key: str,
    minutes: int = Query(DEFAULT_SPAN),
    hours: int = Query(DEFAULT_WINDOW),
    person: Person = Depends(allowed_to(Action.READ_REPORTS)),
) -> Response:
    """One of the page's tables as CSV."""
    return table_csv(request, person, _tables(request, minutes, hours), key, "health")
