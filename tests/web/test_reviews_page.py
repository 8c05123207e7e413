"""The Reviews page without a browser: review asks planned, sent, delivered and clicked by platform, channel and
technician, payment to the review-request text with what quiet hours held, the window and technician filters, CSV per
table."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from tests.service.access.support import add_person
from tests.storage.kpi_rows import KpiShop
from tests.web.support import sign_in

DAY, MIN = timedelta(days=1), timedelta(minutes=1)


def _rows(client: TestClient, key: str, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/reviews/{key}.csv?{query}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_asks_by_platform_channel_and_technician_and_the_quiet_hours(
    runtime: Runtime, office: TestClient, clock: SimulatedClock
) -> None:
    now, shop = clock.now(), KpiShop(runtime.engine)
    paid = now - 2 * DAY
    shop.review_ask(paid, ["Ana"], paid + 30 * MIN, clicked=True)  # the usual half hour
    shop.review_ask(paid, ["Ben"], paid + 14 * 60 * MIN)  # paid in the evening, held to the morning
    shop.review_ask(
        paid, ["Ben"], paid + 2 * DAY, purpose="review_follow_up.email", channel="email", clicked=True, platform="yelp"
    )
    shop.review_ask(now - 1 * DAY, ["Ana"], now + DAY, sent=False)  # planned, not due yet: outside the window
    shop.review_ask(now - 20 * DAY, ["Ana"], now - 20 * DAY + 40 * MIN, status="failed")
    add_person(runtime, "Olga", "owner")
    assert sign_in(office, "Olga") == 303

    page = office.get("/reviews?days=7")
    assert page.status_code == 200 and 'aria-current="page">Reviews' in page.text
    assert "1 of 2" in page.text  # held by quiet hours
    assert {r["step"]: r["asks"] for r in _rows(office, "review_funnel", "days=7")} == {
        "planned": "3",
        "sent": "3",
        "delivered": "3",
        "clicked": "2",
    }
    by_channel = {r["channel"]: (r["sent"], r["clicked"]) for r in _rows(office, "reviews_by_channel", "days=7")}
    assert by_channel == {"email": ("1", "1"), "sms": ("2", "1")}
    by_platform = {r["platform"]: (r["sent"], r["clicked"]) for r in _rows(office, "reviews_by_platform", "days=7")}
    assert by_platform == {"google": ("2", "1"), "yelp": ("1", "1")}
    by_tech = {r["technician"]: (r["sent"], r["clicked"]) for r in _rows(office, "reviews_by_technician", "days=7")}
    assert by_tech == {"Ana": ("1", "1"), "Ben": ("2", "1")}
    spans = {
        r["span"]: (r["review requests"], r["held by quiet hours"]) for r in _rows(office, "payment_to_ask", "days=7")
    }
    assert spans["30 to 60 min"] == ("1", "0") and spans["12 to 24 h"] == ("1", "1")

    month = {r["step"]: r["asks"] for r in _rows(office, "review_funnel", "days=30")}
    assert (month["sent"], month["delivered"]) == ("4", "3")
    ben = {r["step"]: r["asks"] for r in _rows(office, "review_funnel", "days=30&technician=Ben")}
    assert ben == {"planned": "2", "sent": "2", "delivered": "2", "clicked": "1"}


@pytest.mark.parametrize("role", ["office", "sales"])
def test_only_the_owner_and_operations_see_reviews(runtime: Runtime, office: TestClient, role: str) -> None:
    add_person(runtime, "Pat", role)
    assert sign_in(office, "Pat") == 303
    assert office.get("/reviews").status_code == 403
