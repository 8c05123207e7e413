"""Leads and pipeline in Chromium: a CSR takes a phoned-in lead and qualifies another, sales records a visit outcome,
a dispatcher reassigns; each effect checked in the database, on the customer's timeline and in the audit log, and each
role sees only the controls it may use. Screenshots of the board (busy and empty) at desktop and phone width."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.service.handoff import stages
from fieldrelay.service.handoff.first_response import sync_team
from fieldrelay.storage.tables import customers, deals
from tests.browser.conftest import Screens
from tests.browser.support import sign_in
from tests.service.access.support import add_person, audit_entries
from tests.service.handoff.support import act, customer, deal, estimate_at, lead_at, shop_time, sop_tasks
from tests.service.support import rows, sim_clock, timeline

pytestmark = pytest.mark.slow

LONG = ev.CustomerSnapshot(
    external_id="long",
    first_name="Maria de los Ángeles",
    last_name="Fernández-Oyelaran Whitcombe-Astley",
    phones=("(512) 555-0190",),
)
EMAIL_ONLY = ev.CustomerSnapshot(external_id="mail", first_name="Quinn", last_name="Ashby", emails=("q@ashby.example",))


def busy_shop(runtime: Runtime) -> dict[str, str]:
    """Pat's estimate (Monday), Amy's lead qualified, and new leads from a long-named caller with no email, one with
    no phone, and Ben; it is Tuesday 10:00. Deal ids by customer."""
    act(runtime, sync_team)
    ids = {"pat": lead_at(runtime, shop_time(2, 10))}
    estimate_at(runtime, shop_time(2, 11))
    ids["amy"] = lead_at(runtime, shop_time(2, 12), customer("amy", "(512) 555-0100"))
    ids["long"] = lead_at(runtime, shop_time(3, 9, 30), LONG)
    ids["mail"] = lead_at(runtime, shop_time(3, 9, 40), EMAIL_ONLY)
    ids["ben"] = lead_at(runtime, shop_time(3, 9, 50), customer("ben", "(512) 555-0111"))
    sim_clock(runtime).advance_to(shop_time(3, 10))
    return ids


def test_a_csr_takes_a_phoned_in_lead_and_qualifies_another(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    ids = busy_shop(runtime)
    add_person(runtime, "Carla", "office")
    sign_in(page, server, "Carla")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Pipeline").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Leads and pipeline")
    new_leads = page.locator("section.stage", has=page.get_by_role("heading", name="New lead - needs qualification"))
    expect(new_leads.locator(".deal")).to_have_count(4)
    expect(page.locator(f"#deal-{ids['long'][:8]}")).to_contain_text("Owner: Carla")
    expect(page.locator(f"#deal-{ids['pat'][:8]}")).to_contain_text("Follow up on the estimate")
    screens.save(page, "pipeline-csr")
    page.evaluate("window.notReloaded = true")

    page.get_by_text("New lead (phoned in)").click()
    form = page.locator("form[action='/pipeline/leads']")
    form.get_by_label("Name").fill("Rosa Delgado")
    form.get_by_label("Phone").fill("512 555 0177")
    form.get_by_label("ZIP code").fill("78702")
    form.get_by_label("Service wanted").fill("Tankless water heater")
    form.get_by_label("Notes").fill("Saw our truck on Elm St")
    screens.save(page, "pipeline-new-lead-form")
    page.get_by_role("button", name="Add lead").click()

    expect(page.get_by_role("status")).to_have_text(
        "Lead taken for Rosa Delgado: under New lead - needs qualification."
    )
    expect(new_leads.locator(".deal")).to_have_count(5)
    assert page.evaluate("window.notReloaded") is True
    (rosa,) = rows(runtime, customers, customers.c.first_name == "Rosa")
    (rosa_deal,) = rows(runtime, deals, deals.c.customer_id == rosa.id)
    assert (rosa_deal.stage, rosa_deal.owner) == ("new_lead", "Carla")
    assert [t.kind for t in sop_tasks(runtime, rosa_deal.id, "open")] == ["sop.first_response"]
    (lead,) = timeline(runtime, rosa.id, "lead.received")
    assert lead.summary == "New lead via phone for Tankless water heater: Saw our truck on Elm St"
    (entry,) = audit_entries(runtime, "new_lead")
    assert (entry.actor, entry.via, entry.subject_id) == ("Carla", "web", rosa_deal.id)

    card = page.locator(f"#deal-{ids['amy'][:8]}")
    card.get_by_text("Qualify", exact=True).click()
    card.get_by_label("ZIP code").fill("78701")
    card.get_by_label("Job type").fill("Drain cleaning")
    card.get_by_label("When they want it").fill("Thursday afternoon")
    card.get_by_role("button", name="Mark qualified").click()

    expect(page.get_by_role("status")).to_have_text("Qualified: Amy Lee.")
    qualified = page.locator("section.stage", has=page.get_by_role("heading", name="Qualified - ready to schedule"))
    expect(qualified.locator(f"#deal-{ids['amy'][:8]}")).to_contain_text("Owner: Dan")
    row = deal(runtime, ids["amy"])
    assert (row.stage, row.owner, row.job_type, row.requested_for) == (
        "qualified",
        "Dan",
        "Drain cleaning",
        "Thursday afternoon",
    )
    assert any("qualified by Carla" in a.summary for a in timeline(runtime, row.customer_id, "deal.stage"))
    (entry,) = audit_entries(runtime, "qualify")
    assert (entry.before, entry.after["stage"]) == ({"stage": "new_lead", "owner": "Carla"}, "qualified")
    screens.save(page, "pipeline-board")
    expect(page.get_by_text("Visit outcome")).to_have_count(0)  # a CSR may not record outcomes
    expect(page.locator("summary", has_text="Assign")).to_have_count(0)  # nor reassign


def test_sales_records_an_outcome_and_a_dispatcher_reassigns(runtime: Runtime, server: str, page: Page) -> None:
    ids = busy_shop(runtime)
    act(runtime, lambda ctx: stages.qualify(ctx, ids["amy"], zip_code="78701", job_type="Drain", requested_for="Thu"))
    add_person(runtime, "Sam", "sales")
    sign_in(page, server, "Sam")
    page.goto(server + "/pipeline")
    expect(page.get_by_text("New lead (phoned in)")).to_have_count(0)  # sales enters no leads
    expect(page.locator("summary", has_text="Qualify")).to_have_count(0)

    card = page.locator(f"#deal-{ids['amy'][:8]}")
    card.get_by_text("Visit outcome", exact=True).click()
    card.get_by_label("Estimate sent").check()
    card.get_by_role("button", name="Record outcome").click()

    expect(page.get_by_role("status")).to_have_text("Estimate sent: Amy Lee.")
    row = deal(runtime, ids["amy"])
    assert (row.stage, row.owner) == ("estimate_sent", "Sam")
    assert [t.kind for t in sop_tasks(runtime, ids["amy"], "open")][:1] == ["sop.followup.1"]
    assert any(a.summary == "Estimate sent by Sam" for a in timeline(runtime, row.customer_id, "estimate.sent"))
    (entry,) = audit_entries(runtime, "record_outcome")
    assert (entry.actor, entry.after["stage"]) == ("Sam", "estimate_sent")

    page.get_by_role("button", name="Sign out").click()
    add_person(runtime, "Dan", "dispatcher")
    sign_in(page, server, "Dan")
    page.goto(server + "/pipeline")
    card = page.locator(f"#deal-{ids['ben'][:8]}")
    card.get_by_text("Assign", exact=True).click()
    card.get_by_label("Give to").select_option("Olga")
    card.get_by_role("button", name="Assign deal").click()

    expect(page.get_by_role("status")).to_have_text("Ben Okafor is now Olga's.")
    expect(page.locator(f"#deal-{ids['ben'][:8]}")).to_contain_text("Owner: Olga")
    assert deal(runtime, ids["ben"]).owner == "Olga"
    assert {t.assignee for t in sop_tasks(runtime, ids["ben"], "open")} == {"Olga"}
    assert any("assigned to Olga by Dan" in a.summary for a in timeline(runtime, deal(runtime, ids["ben"]).customer_id))
    (entry,) = audit_entries(runtime, "reassign")
    assert (entry.actor, entry.before["owner"], entry.after["owner"]) == ("Dan", "Carla", "Olga")


def test_a_role_that_may_not_gets_403(runtime: Runtime, server: str, page: Page) -> None:
    ids = busy_shop(runtime)
    add_person(runtime, "Sam", "sales")
    sign_in(page, server, "Sam")
    page.goto(server + "/pipeline")
    token = page.locator("body").get_attribute("hx-headers") or ""

    answer = page.request.post(
        f"{server}/pipeline/deals/{ids['ben']}/assign",
        form={"to": "Sam"},
        headers={"X-CSRF-Token": token.split('"')[3]},
    )

    assert answer.status == 403 and "Your role may not reassign deals" in answer.text()
    assert deal(runtime, ids["ben"]).owner == "Carla"


def test_an_empty_board_says_what_it_means(runtime: Runtime, server: str, page: Page, screens: Screens) -> None:
    add_person(runtime, "Olga", "operations")
    sign_in(page, server, "Olga")
    page.goto(server + "/pipeline")
    expect(page.get_by_text("No open deals.")).to_be_visible()
    expect(page.get_by_text("No deals at this stage.")).to_have_count(6)
    screens.save(page, "pipeline-empty")
