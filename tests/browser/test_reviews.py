"""Reviews in Chromium: the owner opens Reviews, narrows to a technician and sees the funnel change, reads what quiet
hours held, and downloads a table's CSV; screenshots at desktop and phone width."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from tests.browser.conftest import Screens
from tests.browser.support import sign_in
from tests.service.access.support import add_person
from tests.storage.kpi_rows import KpiShop

pytestmark = pytest.mark.slow
DAY, MIN = timedelta(days=1), timedelta(minutes=1)


def test_the_owner_reads_review_asks_by_technician_and_downloads_them(
    runtime: Runtime, server: str, page: Page, screens: Screens, clock: SimulatedClock
) -> None:
    now, shop = clock.now(), KpiShop(runtime.engine)
    paid = now - 3 * DAY
    shop.review_ask(paid, ["Ana"], paid + 30 * MIN, clicked=True)
    shop.review_ask(paid, ["Ana"], paid + 31 * MIN)
    shop.review_ask(paid, ["Ben"], paid + 13 * 60 * MIN)  # held overnight
    add_person(runtime, "Olga", "owner")
    sign_in(page, server, "Olga")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reviews")
    expect(page.locator('[data-kpi="held"] .kpi-value')).to_have_text("1 of 3")
    expect(page.get_by_role("img", name="Review asks, planned to clicked")).to_be_visible()
    screens.save(page, "reviews")

    page.get_by_label("Technician", exact=True).select_option("Ana")
    page.get_by_role("button", name="Show").click()
    expect(page.locator('[data-kpi="held"] .kpi-value')).to_have_text("0 of 2")

    funnel = page.locator("#review_funnel")
    with page.expect_download() as download:
        funnel.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "reviews-30d-review_funnel.csv"
    text = download.value.path().read_text(encoding="utf-8")
    assert text.splitlines() == ["step,asks", "planned,2", "sent,2", "delivered,2", "clicked,1"]
