"""My day in Chromium: a CSR completes her task with an outcome and a note, the operations lead sees everyone's tasks
with the escalation and logs a call, and the list refreshes itself without a reload. Each effect is checked in the
database, on the customer's timeline and in the audit log."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from fieldrelay.runtime import Runtime
from fieldrelay.storage.sequences.tables import tasks
from fieldrelay.web import my_day
from fieldrelay.web.nav import nav_for
from tests.browser.conftest import Screens
from tests.browser.support import sign_in
from tests.service.access.support import add_person, audit_entries
from tests.service.handoff.support import customer, lead_at, shop_time
from tests.service.support import rows, timeline
from tests.service.tasks.support import first_response, open_task, task_row, two_customers

pytestmark = pytest.mark.slow


def test_a_csr_completes_her_first_response_in_one_go(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    situation = first_response(runtime)  # a web lead at 10:00: Carla calls back by 10:05
    add_person(runtime, "Carla", "office")
    page.goto(server + "/")
    screens.save(page, "sign-in")
    sign_in(page, server, "Carla")

    task = page.locator(f"#task-{situation.task_id[:8]}")
    expect(task).to_contain_text("First response: call the customer back")
    expect(task).to_contain_text("Pat Doe")
    expect(task.locator(".clock")).to_have_text("due in 5 min")
    menu = [item.label for item in nav_for("office")]  # only what a CSR may use: no People, no Audit log
    expect(page.get_by_role("navigation", name="Main").get_by_role("link")).to_have_text(menu)
    screens.save(page, "my-day-csr")
    page.evaluate("window.notReloaded = true")

    task.get_by_text("Complete", exact=True).click()
    task.get_by_label("Reached the customer").check()
    task.get_by_label("What happened").fill("Booked a visit for Tuesday morning")
    screens.save(page, "my-day-complete-form")
    task.get_by_role("button", name="Close task").click()

    expect(page.get_by_role("status")).to_contain_text("Done: First response: call the customer back")
    expect(page.locator(".task")).to_have_count(0)
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the list in; the page stayed
    screens.save(page, "my-day-done")
    row = task_row(runtime, situation.task_id)
    assert (row.status, row.outcome, row.closed_by, row.note) == (
        "done",
        "reached",
        "Carla",
        "Booked a visit for Tuesday morning",
    )
    (logged,) = timeline(runtime, row.customer_id, "followup.logged")
    assert "by Carla: Booked a visit for Tuesday morning" in logged.summary
    (entry,) = audit_entries(runtime, "complete_task")
    assert (entry.actor, entry.actor_role, entry.via, entry.subject_id) == ("Carla", "office", "web", row.id)
    assert entry.before == {"status": "open", "owner": "Carla"}
    assert entry.after == {"status": "done", "outcome": "reached", "note": "Booked a visit for Tuesday morning"}


def test_operations_sees_everyone_s_tasks_and_logs_a_call(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    two_customers(runtime)  # Sam's three follow-ups for Pat; Amy's first response, overdue and escalated to Olga
    add_person(runtime, "Olga", "operations")
    amy = open_task(runtime, "sop.first_response")
    sign_in(page, server, "Olga")

    expect(page.get_by_role("heading", level=1)).to_have_text("Everyone's open tasks")
    expect(page.locator(".task")).to_have_count(4)
    escalated = page.locator(f"#task-{amy.id[:8]}")
    expect(escalated.locator(".badge")).to_have_text("Escalated to Olga")
    expect(escalated.locator(".clock")).to_have_text("overdue by 1 h")
    screens.save(page, "my-day-operations")

    escalated.get_by_text("Log a call", exact=True).click()
    escalated.get_by_label("What was said").fill("Amy wants a quote for a water heater")
    escalated.get_by_role("button", name="Log call").click()

    expect(page.get_by_role("status")).to_contain_text("Call logged")
    expect(page.locator(".task")).to_have_count(3)  # the call was the lead's first response
    assert task_row(runtime, amy.id).status == "done"
    assert any("Call by Olga: Amy wants a quote" in a.summary for a in timeline(runtime, amy.customer_id))
    (entry,) = audit_entries(runtime, "log_call")
    assert (entry.actor, entry.subject_id, entry.after) == (
        "Olga",
        amy.id,
        {"note": "Amy wants a quote for a water heater"},
    )

    page.get_by_role("link", name="Mine").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My day")
    expect(page.locator(".task")).to_have_count(0)  # Sam's follow-ups are his


def test_the_list_refreshes_itself_without_a_reload(
    runtime: Runtime, server: str, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(my_day, "REFRESH_SECONDS", 1)  # 15 s in the shop; a second here
    add_person(runtime, "Carla", "office")
    sign_in(page, server, "Carla")
    expect(page.locator(".task")).to_have_count(0)
    page.evaluate("window.notReloaded = true")

    lead_at(runtime, shop_time(2, 10), customer("amy", "(512) 555-0100"))  # a new lead: Carla's first response

    expect(page.locator(".task")).to_have_count(1, timeout=10_000)
    expect(page.locator(".task")).to_contain_text("Amy Lee")
    assert page.evaluate("window.notReloaded") is True
    assert len(rows(runtime, tasks)) == 1


def test_an_open_form_is_not_wiped_by_the_refresh(
    runtime: Runtime, server: str, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(my_day, "REFRESH_SECONDS", 1)
    situation = first_response(runtime)
    add_person(runtime, "Carla", "office")
    sign_in(page, server, "Carla")
    task = page.locator(f"#task-{situation.task_id[:8]}")
    task.get_by_text("Complete", exact=True).click()
    task.get_by_label("What happened").fill("half-typed")

    page.wait_for_timeout(2500)  # two refreshes would have come and gone

    expect(task.get_by_label("What happened")).to_have_value("half-typed")
    expect(page.locator("#tasks .summary")).to_have_text(re.compile(r"1 open"))
