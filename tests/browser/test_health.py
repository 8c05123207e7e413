"""Health in Chromium: operations opens Health from the menu, reads the backlog and the dead rows, narrows the
per-minute span and sees the counts change, and downloads the backlog's CSV; the backlog over time from the worker's
samples, over another window, and its CSV; screenshots at desktop and phone width."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.health import HealthRecorder
from fieldrelay.runtime import Runtime
from tests.browser.conftest import Screens
from tests.browser.support import sign_in
from tests.service.access.support import add_person
from tests.storage.error_rows import add_dead_outbox
from tests.storage.health_rows import add_delivery, add_due_timer, add_webhook

pytestmark = pytest.mark.slow
MIN = timedelta(minutes=1)


def test_operations_reads_the_backlog_and_narrows_the_minutes(
    runtime: Runtime, server: str, page: Page, screens: Screens, clock: SimulatedClock
) -> None:
    now = clock.now()
    add_webhook(runtime.engine, now - 9 * MIN, "jobber")
    for minutes_ago in (40, 30, 20, 5, 2):
        add_webhook(runtime.engine, now - minutes_ago * MIN, processed_at=now - minutes_ago * MIN)
    add_due_timer(runtime.engine, now - 3 * MIN)
    add_delivery(runtime.engine, now - 6 * MIN, "email")
    add_dead_outbox(runtime.engine, now - 50 * MIN)
    add_person(runtime, "Olga", "operations")
    sign_in(page, server, "Olga")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Health").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Health")
    expect(page.get_by_role("img", name="Oldest wait per queue and target")).to_be_visible()
    backlog = page.locator("#backlog")
    backlog.get_by_text("Table", exact=True).click()
    expect(backlog.get_by_role("row")).to_have_count(4)
    expect(backlog.get_by_role("row").nth(1)).to_contain_text("jobber")
    flow = page.locator("#per_minute")
    flow.get_by_text("Table", exact=True).click()
    expect(flow.locator("tbody tr")).to_have_count(60)
    screens.save(page, "health")

    page.get_by_label("15 minutes", exact=True).check()
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{server}/health?hours=3&minutes=15")
    flow.get_by_text("Table", exact=True).click()
    expect(flow.locator("tbody tr")).to_have_count(15)

    with page.expect_download() as download:
        backlog.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "health-backlog.csv"
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines[0] == 'queue,"connector, kind or target",waiting,oldest wait (min)'
    assert lines[1:] == ["inbox,jobber,1,9.0", "outbox,email,1,6.0", "timers,sequence_step,1,3.0"]


def test_operations_reads_the_backlog_over_time_and_downloads_it(
    runtime: Runtime, server: str, page: Page, screens: Screens, clock: SimulatedClock
) -> None:
    recorder = HealthRecorder(runtime.engine, clock, "default", "w1")
    for _ in range(3):  # a jobber webhook stuck every ten minutes, sampled at 15:10, 15:20 and 15:30 UTC
        add_webhook(runtime.engine, clock.now() - 2 * MIN, "jobber")
        clock.advance(10 * 60)
        assert recorder.sample()
    add_person(runtime, "Olga", "operations")
    sign_in(page, server, "Olga")

    page.goto(f"{server}/health?hours=1")
    history = page.locator("#backlog_history")
    for queue in ("inbox", "timers", "outbox"):
        expect(history.get_by_role("img", name=f"Rows waiting over time: {queue}")).to_be_visible()
        expect(history.get_by_role("img", name=f"Oldest wait over time: {queue}")).to_be_visible()
    history.get_by_text("Table", exact=True).click()
    expect(history.locator("tbody tr")).to_have_count(60)
    expect(history.locator("tbody tr").last).to_contain_text("11-02 09:30")
    expect(history.locator("tbody tr").last.locator("td").nth(1)).to_have_text("3")
    screens.save(page, "health-history")

    page.get_by_label("24 hours", exact=True).check()
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{server}/health?hours=24&minutes=60")
    expect(page.get_by_role("heading", name="Backlog over the last 24 hours (24 minutes a point")).to_be_visible()
    with page.expect_download() as download:
        page.locator("#backlog_targets").get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "health-backlog_targets.csv"
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines[0] == 'from,queue,"connector, kind or target",most waiting,oldest wait (min)'
    assert lines[1:] == ["11-02 09:07,inbox,jobber,3,32.0"], "the three samples fall in the last 24-minute point"
