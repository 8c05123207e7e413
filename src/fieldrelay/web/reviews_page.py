"""The Reviews page (owner and operations): review asks sent, delivered and clicked, by channel and by technician,
and the time from payment to the review-request text, showing what quiet hours held; each table with its chart and
its CSV, over 7, 30 or 90 days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from statistics import median

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from fieldrelay.reports.trends import WINDOWS
from fieldrelay.service.access.permissions import Action
from fieldrelay.storage.kpis.reviews import ReviewAsk, review_asks
from fieldrelay.web import render
from fieldrelay.web.charts import bar_chart
from fieldrelay.web.data_tables import DataTable, table_csv
from fieldrelay.web.guard import Person, allowed_to
from fieldrelay.web.reports_page import DEFAULT_DAYS, window
from fieldrelay.web.state import runtime_of

router = APIRouter()
# Payment-to-text spans: the request is planned minutes after payment; quiet hours push it to the next morning.
LAG_BUCKETS: tuple[tuple[str, float], ...] = (
    ("under 30 min", 30),
    ("30 to 60 min", 60),
    ("1 to 2 h", 120),
    ("2 to 6 h", 360),
    ("6 to 12 h", 720),
    ("12 to 24 h", 1440),
    ("over 24 h", float("inf")),
)


def _funnel(asks: Sequence[ReviewAsk]) -> tuple[int, int, int, int]:
    return len(asks), sum(a.sent for a in asks), sum(a.delivered for a in asks), sum(a.clicked for a in asks)


def _tables(request: Request, days: int, technician: str) -> tuple[list[DataTable], dict[str, object]]:
    runtime = runtime_of(request)
    now, settings = runtime.clock.now(), runtime.settings
    delay = timedelta(minutes=settings.review_request.delay_minutes)
    with runtime.engine.connect() as conn:
        every = review_asks(conn, settings.account_id, now - timedelta(days=days), now, delay)
    asks = [a for a in every if technician in a.technicians] if technician else every
    planned, sent, delivered, clicked = _funnel(asks)
    channels = sorted({a.channel for a in asks})
    technicians = sorted({name for a in every for name in a.technicians})
    by_tech = [(name, *_funnel([a for a in every if name in a.technicians])) for name in technicians]
    lags = [a for a in asks if a.lag_minutes is not None]
    buckets = []
    low = 0.0
    for label, high in LAG_BUCKETS:
        inside = [a for a in lags if low <= (a.lag_minutes or 0) < high]
        buckets.append((label, len(inside), sum(a.held for a in inside)))
        low = high
    tables = [
        DataTable(
            "review_funnel",
            "Review asks: planned, sent, delivered, clicked",
            ("step", "asks"),
            [("planned", planned), ("sent", sent), ("delivered", delivered), ("clicked", clicked)],
            bar_chart(
                "Review asks, planned to clicked",
                "How many review asks were planned, sent, delivered and clicked in the window.",
                [("Planned", planned), ("Sent", sent), ("Delivered", delivered), ("Clicked", clicked)],
            ),
        ),
        DataTable(
            "reviews_by_channel",
            "By channel",
            ("channel", "planned", "sent", "delivered", "clicked"),
            [(channel, *_funnel([a for a in asks if a.channel == channel])) for channel in channels],
            bar_chart(
                "Review links clicked, by channel",
                "Clicked review asks per channel (text or email).",
                [(channel, _funnel([a for a in asks if a.channel == channel])[3]) for channel in channels],
            ),
            note=f"Every ask carries the shop's one review link ({settings.review_request.review_url}).",
        ),
        DataTable(
            "reviews_by_technician",
            "By technician (of the job asked about)",
            ("technician", "planned", "sent", "delivered", "clicked"),
            by_tech,
            bar_chart(
                "Review links clicked, by technician",
                "Clicked review asks per technician of the job the ask is about.",
                [(row[0], row[4]) for row in by_tech],
            ),
        ),
        DataTable(
            "payment_to_ask",
            "Payment to review-request text",
            ("span", "review requests", "held by quiet hours"),
            buckets,
            bar_chart(
                "Payment to review-request text",
                f"Review requests by the time from payment to the text; texts go out {settings.text_hours}.",
                [(label, n) for label, n, _ in buckets],
            ),
            note=f"Texts go out {settings.text_hours}: a payment in the evening is asked the next morning.",
        ),
    ]
    minutes = [a.lag_minutes for a in lags if a.lag_minutes is not None]
    quick = [a.lag_minutes for a in lags if not a.held and a.lag_minutes is not None]
    figures: dict[str, object] = {
        "median": round(median(minutes), 1) if minutes else None,
        "median_not_held": round(median(quick), 1) if quick else None,
        "held": sum(a.held for a in lags),
        "requests": len(lags),
        "technicians": technicians,
    }
    return tables, figures


@router.get("/reviews", response_class=HTMLResponse)
def reviews(
    request: Request,
    days: int = Query(DEFAULT_DAYS),
    technician: str = Query("", max_length=100),
    person: Person = Depends(allowed_to(Action.READ_REPORTS)),
) -> HTMLResponse:
    """The review asks of the chosen window, narrowed to a technician's jobs when one is chosen."""
    chosen = window(days)
    tables, figures = _tables(request, chosen, technician)
    return render.page(
        request,
        "reviews.html",
        person,
        tables=tables,
        figures=figures,
        days=chosen,
        windows=WINDOWS,
        technician=technician,
        query=f"days={chosen}&technician={technician}",
        csv_base="/reviews",
    )


@router.get("/reviews/{key}.csv")
def reviews_csv(
    request: Request,
    key: str,
    days: int = Query(DEFAULT_DAYS),
    technician: str = Query("", max_length=100),
    person: Person = Depends(allowed_to(Action.READ_REPORTS)),
) -> Response:
    """One of the page's tables as CSV, for the same window and technician."""
    tables, _ = _tables(request, window(days), technician)
    return table_csv(request, person, tables, key, f"reviews-{window(days)}d")
