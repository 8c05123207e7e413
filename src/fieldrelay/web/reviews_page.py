"""The Reviews page (owner and operations): review asks sent, delivered and clicked, by review platform, by channel
and by technician, and the time from payment to the review-request text, showing what quiet hours held; each table
with its chart and its CSV, over 7, 30 or 90 days."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from fieldrelay.reports.trends import WINDOWS
from fieldrelay.service.access.permissions import Action
from fieldrelay.storage.kpis.reviews import LAG_SPANS, AskCounts, lag_median, review_ask_counts, review_lags
from fieldrelay.storage.kpis.samples import NOBODY
from fieldrelay.web import render
from fieldrelay.web.charts import bar_chart
from fieldrelay.web.data_tables import DataTable, table_csv
from fieldrelay.web.guard import Person, allowed_to
from fieldrelay.web.reports_page import DEFAULT_DAYS, window
from fieldrelay.web.state import runtime_of

router = APIRouter()
Funnel = tuple[int, int, int, int]  # planned, sent, delivered, clicked


def _funnel(groups: Iterable[AskCounts]) -> Funnel:
    chosen = list(groups)
    return (
        sum(g.planned for g in chosen),
        sum(g.sent for g in chosen),
        sum(g.delivered for g in chosen),
        sum(g.clicked for g in chosen),
    )


def _split(groups: list[AskCounts], key: Callable[[AskCounts], str]) -> list[tuple[str, int, int, int, int]]:
    """The funnel per value of ``key`` (a channel, a platform), by name."""
    names = sorted({key(g) for g in groups})
    return [(name, *_funnel(g for g in groups if key(g) == name)) for name in names]


def _tables(request: Request, days: int, technician: str) -> tuple[list[DataTable], dict[str, object]]:
    runtime = runtime_of(request)
    now, settings = runtime.clock.now(), runtime.settings
    account, since = settings.account_id, now - timedelta(days=days)
    delay = timedelta(minutes=settings.review_request.delay_minutes)
    with runtime.engine.connect() as conn:
        every = review_ask_counts(conn, account, since, now)
        lag_groups = review_lags(conn, account, since, now, delay)
    middle = lag_median(lag_groups, technician or None)
    middle_not_held = lag_median(lag_groups, technician or None, held=False)
    groups = [g for g in every if technician in g.technicians] if technician else every
    lags = [g for g in lag_groups if technician in g.technicians] if technician else lag_groups
    planned, sent, delivered, clicked = _funnel(groups)
    technicians = sorted({name for g in every for name in g.technicians})
    by_tech = [(name, *_funnel(g for g in every if name in g.technicians)) for name in technicians]
    by_channel, by_platform = _split(groups, lambda g: g.channel), _split(groups, lambda g: g.platform)
    spans = [
        (label, sum(g.requests for g in lags if g.span == k), sum(g.requests for g in lags if g.span == k and g.held))
        for k, (label, _) in enumerate(LAG_SPANS)
    ]
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
            "reviews_by_platform",
            "By review platform",
            ("platform", "planned", "sent", "delivered", "clicked"),
            by_platform,
            bar_chart(
                "Review links clicked, by platform",
                "Clicked review asks per review site of the link the ask carried (Google, Yelp, Facebook…).",
                [(row[0], row[4]) for row in by_platform],
            ),
            note="The link follows the customer's lead source (followup.review_links), else "
            f"{settings.review_request.review_url}; {NOBODY}: not sent yet, cancelled, or carrying no review link.",
        ),
        DataTable(
            "reviews_by_channel",
            "By channel",
            ("channel", "planned", "sent", "delivered", "clicked"),
            by_channel,
            bar_chart(
                "Review links clicked, by channel",
                "Clicked review asks per channel (text or email).",
                [(row[0], row[4]) for row in by_channel],
            ),
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
            spans,
            bar_chart(
                "Payment to review-request text",
                f"Review requests by the time from payment to the text; texts go out {settings.text_hours}.",
                [(label, n) for label, n, _ in spans],
            ),
            note=f"Texts go out {settings.text_hours}: a payment in the evening is asked the next morning.",
        ),
    ]
    figures: dict[str, object] = {
        "median": None if middle is None else round(middle, 1),
        "median_not_held": None if middle_not_held is None else round(middle_not_held, 1),
        "held": sum(g.requests for g in lags if g.held),
        "requests": sum(g.requests for g in lags),
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
