"""Daily review in Chromium: sales logs a follow-up call from a row and operations reassigns one, each effect checked
in the database, on the timeline and in the audit log; a CSR sees no Assign; the empty list. Screenshots of both."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fieldrelay.runtime import Runtime
from fieldrelay.service.handoff import review
from fieldrelay.service.handoff.first_response import sync_team
from tests.browser.conftest import Screens
from tests.browser.support import sign_in
from tests.service.access.support import add_person, audit_entries
from tests.service.handoff.support import act, customer, deal, estimate_at, lead_at, shop_time, sop_tasks
from tests.service.support import sim_clock, timeline

pytestmark = pytest.mark.slow
AMY = customer("amy", "(512) 555-0100")


def two_estimates(runtime: Runtime) -> tuple[str, str]:
    """Pat's estimate on Monday 11:00 (its same-day follow-up overdue) and Amy's on Tuesday 11:00; Tuesday 16:30."""
    act(runtime, sync_team)
    pat_deal = lead_at(runtime, shop_time(2, 10))
    estimate_at(runtime, shop_time(2, 11))
    amy_deal = lead_at(runtime, shop_time(3, 10), AMY)
    estimate_at(runtime, shop_time(3, 11), AMY)
    sim_clock(runtime).advance_to(shop_time(3, 16, 30))
    return pat_deal, amy_deal


def test_sales_logs_a_follow_up_call_from_the_review(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    pat_deal, amy_deal = two_estimates(runtime)
    add_person(runtime, "Sam", "sales")
    sign_in(page, server, "Sam")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Daily review").click()

    rows = page.locator("#review .deal")
    expect(rows).to_have_count(2)
    assert [item.loop.deal_id for item in act(runtime, review.today)] == [pat_deal, amy_deal]  # the email's order
    expect(rows.nth(0)).to_contain_text("Pat Doe")
    expect(rows.nth(0).locator(".badge")).to_have_text("Overdue")
    expect(rows.nth(1)).to_contain_text("Amy Lee")
    expect(page.locator("#review .summary")).to_contain_text("2 open, 1 overdue")
    expect(page.locator("summary", has_text="Assign")).to_have_count(0)  # sales may not reassign
    screens.save(page, "review")
    page.evaluate("window.notReloaded = true")

    row = page.locator(f"#loop-{pat_deal[:8]}")
    row.get_by_text("Log a call", exact=True).click()
    row.get_by_label("What was said").fill("Pat is comparing two quotes, decides Friday")
    row.get_by_role("button", name="Log call").click()

    expect(page.get_by_role("status")).to_have_text("Call logged: Pat Doe.")
    expect(page.locator(f"#loop-{pat_deal[:8]}")).to_contain_text("Follow up on the estimate (48 hours)")
    assert page.evaluate("window.notReloaded") is True
    customer_id = deal(runtime, pat_deal).customer_id
    (logged,) = timeline(runtime, customer_id, "followup.logged")
    assert logged.summary == "Call by Sam: Pat is comparing two quotes, decides Friday"
    assert [t.kind for t in sop_tasks(runtime, pat_deal, "open")] == ["sop.followup.2", "sop.followup.3"]
    (entry,) = audit_entries(runtime, "log_call")
    assert (entry.actor, entry.via, entry.subject_id, entry.after["note"]) == (
        "Sam",
        "web",
        pat_deal,
        "Pat is comparing two quotes, decides Friday",
    )

    row = page.locator(f"#loop-{amy_deal[:8]}")
    with page.expect_navigation():
        row.get_by_role("link", name="Open the customer").click()
    expect(page).to_have_url(f"{server}/customers/{deal(runtime, amy_deal).customer_id}")


def test_operations_reassigns_and_a_csr_may_not(runtime: Runtime, server: str, page: Page) -> None:
    _, amy_deal = two_estimates(runtime)
    add_person(runtime, "Olga", "operations")
    sign_in(page, server, "Olga")
    page.goto(server + "/review")

    row = page.locator(f"#loop-{amy_deal[:8]}")
    row.locator("summary", has_text="Assign").click()
    row.get_by_label("Give to").select_option("Dan")
    row.get_by_role("button", name="Assign deal").click()

    expect(page.get_by_role("status")).to_have_text("Amy Lee is now Dan's.")
    expect(page.locator(f"#loop-{amy_deal[:8]}")).to_contain_text("Owner: Dan")
    assert {t.assignee for t in sop_tasks(runtime, amy_deal, "open")} == {"Dan"}
    summaries = [a.summary for a in timeline(runtime, deal(runtime, amy_deal).customer_id, "deal.assigned")]
    assert summaries == ["Deal assigned to Dan by Olga (was Sam; 3 open tasks moved)"]
    (entry,) = audit_entries(runtime, "reassign")
    assert (entry.actor, entry.before["owner"], entry.after["owner"]) == ("Olga", "Sam", "Dan")

    page.get_by_role("button", name="Sign out").click()
    add_person(runtime, "Carla", "office")
    sign_in(page, server, "Carla")
    page.goto(server + "/review")
    expect(page.locator("#review .deal")).to_have_count(2)
    expect(page.locator("summary", has_text="Assign")).to_have_count(0)
    expect(page.locator("summary", has_text="Log a call")).to_have_count(2)  # a CSR logs calls


def test_an_empty_review_says_what_it_means(runtime: Runtime, server: str, page: Page, screens: Screens) -> None:
    add_person(runtime, "Sam", "sales")
    sign_in(page, server, "Sam")
    page.goto(server + "/review")
    expect(page.get_by_text("No estimate is waiting on a decision.")).to_be_visible()
    screens.save(page, "review-empty")
