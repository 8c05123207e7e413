"""Reports in Chromium: the owner opens Reports from the menu, switches the window and a technician and sees the
figures change, opens a chart's table and downloads its CSV; screenshots at desktop and phone width."""

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


def test_the_owner_reads_the_kpis_filters_them_and_downloads_a_table(
    runtime: Runtime, server: str, page: Page, screens: Screens, clock: SimulatedClock
) -> None:
    now, shop = clock.now(), KpiShop(runtime.engine)
    for days_ago, minutes, source in ((1, 3, "google"), (2, 4, "google"), (10, 14, "yelp"), (20, 25, "yelp")):
        shop.lead(now - days_ago * DAY, minutes * MIN, source)
    shop.job(now - 1 * DAY, ["Ana"], touched_after=8 * MIN, paid_after=DAY, review_clicked=True)
    shop.job(now - 3 * DAY, ["Ben"], touched_after=45 * MIN, paid_after=DAY)
    shop.job(now - 15 * DAY, ["Ana"], touched_after=20 * MIN, paid_after=DAY, review_clicked=True)
    shop.estimate(now - 2 * DAY, 3 * 60 * MIN)
    shop.referral(now - 4 * DAY, "rewarded")
    add_person(runtime, "Olga", "owner")
    sign_in(page, server, "Olga")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    lag = page.locator('[data-kpi="followup_lag"] .kpi-value')
    lead = page.locator('[data-kpi="speed_to_lead"] .kpi-value')
    expect(lag).to_have_text("20 min")  # 30 days: 8, 20 and 45 minutes
    expect(lead).to_have_text("9 min")
    expect(page.get_by_role("img", name="Speed to lead (median), min, day by day")).to_be_visible()
    screens.save(page, "reports")

    page.get_by_label("7 days", exact=True).check()
    page.get_by_role("button", name="Show").click()
    expect(lag).to_have_text("26.5 min")
    expect(lead).to_have_text("3.5 min")
    page.get_by_label("Technician", exact=True).select_option("Ben")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{server}/reports?days=7&technician=Ben&source=")
    expect(lag).to_have_text("45 min")
    expect(lead).to_have_text("3.5 min")  # a lead KPI: the technician does not narrow it

    section = page.locator("#followup_lag_by_technician")
    section.get_by_text("Table", exact=True).click()
    expect(section.get_by_role("row")).to_have_count(3)
    with page.expect_download() as download:
        section.get_by_role("link", name="Download CSV").click()
    saved = download.value
    assert saved.suggested_filename == "kpis-7d-followup_lag_by_technician.csv"
    text = saved.path().read_text(encoding="utf-8")
    assert text.splitlines() == ["technician,min,samples", "Ana,8.0,1", "Ben,45.0,1"]
