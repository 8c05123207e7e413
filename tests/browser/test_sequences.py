"""Sequences in Chromium: the owner opens Sequences, widens the window and sees a funnel change, opens a sequence's
diagram of steps, and downloads its funnel as CSV; screenshots at desktop and phone width."""

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
DAY = timedelta(days=1)


def test_the_owner_reads_a_sequence_funnel_and_its_diagram(
    runtime: Runtime, server: str, page: Page, screens: Screens, clock: SimulatedClock
) -> None:
    now, shop = clock.now(), KpiShop(runtime.engine)
    seq = "review_follow_up"
    shop.enrolment(seq, now - 2 * DAY, "exited", "email", "left a review", {"email": "clicked"})
    shop.enrolment(seq, now - 20 * DAY, "exited", "email", "opted out", {"email": "delivered"})
    add_person(runtime, "Olga", "owner")
    sign_in(page, server, "Olga")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sequences").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sequences")
    section = page.locator(f"#seq-{seq}")
    funnel = section.locator(f"[id='{seq}-funnel']")
    funnel.get_by_text("Table", exact=True).click()
    expect(funnel.get_by_role("row", name="enrolled")).to_contain_text("2")
    section.get_by_text("Steps, waits and branches").click()
    expect(section.get_by_role("img", name=f"{seq} steps")).to_be_visible()
    screens.save(page, "sequences")

    page.get_by_label("7 days", exact=True).check()
    page.get_by_role("button", name="Show").click()
    funnel.get_by_text("Table", exact=True).click()
    expect(funnel.get_by_role("row", name="enrolled")).to_contain_text("1")
    expect(funnel.get_by_role("row", name="opted out")).to_contain_text("0")

    with page.expect_download() as download:
        funnel.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == f"sequences-7d-{seq}-funnel.csv"
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["step,enrolments or messages", "enrolled,1", "sent,1"]
