"""Errors in Chromium: operations ticks two errors and retries them at once, reads a delivery's attempts and dismisses
it with a reason; the list refreshes itself without wiping a ticked row or an open form; a CSR has no Errors page.
Each effect is checked in the database and in the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.storage.ops import errors as error_queue
from fieldrelay.web import errors_page
from tests.browser.conftest import Screens
from tests.browser.support import sign_in
from tests.service.access.support import add_person, audit_entries
from tests.storage.error_rows import ACCOUNT, add_dead_outbox, add_dead_timer, add_inbox_error

pytestmark = pytest.mark.slow


def _open_ids(runtime: Runtime) -> list[str]:
    with runtime.engine.connect() as conn:
        return [item.id for item in error_queue.list_errors(conn, ACCOUNT)]


def test_operations_retries_the_selected_and_dismisses_a_delivery(
    runtime: Runtime, server: str, page: Page, screens: Screens, clock: SimulatedClock
) -> None:
    now = clock.now()
    inbox_id = add_inbox_error(runtime.engine, now - timedelta(days=2), connector="jobber")
    timer_id = add_dead_timer(runtime.engine, now - timedelta(hours=5))
    outbox_id, _ = add_dead_outbox(runtime.engine, now - timedelta(hours=1), attempts=3)
    add_person(runtime, "Olga", "operations")
    sign_in(page, server, "Olga")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Errors").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Errors")
    expect(page.locator("#errors tbody tr")).to_have_count(3)
    expect(page.locator(f"#row-{inbox_id}")).to_contain_text("job names no customer")
    screens.save(page, "errors")
    page.evaluate("window.notReloaded = true")

    page.get_by_label(f"Select {inbox_id}").check()
    page.get_by_label(f"Select {timer_id}").check()
    page.get_by_role("button", name="Retry selected").click()

    expect(page.get_by_role("status")).to_contain_text(f"Put back in line: {inbox_id}, {timer_id}")
    expect(page.locator("#errors tbody tr")).to_have_count(1)
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the list in
    assert _open_ids(runtime) == [outbox_id]
    assert [(e.actor, e.via, e.subject_id) for e in audit_entries(runtime, "retry_error")] == [
        ("Olga", "web", inbox_id),
        ("Olga", "web", timer_id),
    ]

    page.get_by_role("link", name=outbox_id).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(outbox_id)
    attempts = page.locator("table.list tbody tr")
    expect(attempts).to_have_count(3)
    expect(attempts.nth(2)).to_contain_text("400")
    expect(attempts.nth(2)).to_contain_text("try 3")
    screens.save(page, "error-detail")

    page.get_by_role("button", name=f"Dismiss {outbox_id}").click()  # no reason yet: the browser asks for one
    assert _open_ids(runtime) == [outbox_id]
    page.get_by_label("Why it needs no retry").fill("A landline: Carla called the customer instead")
    page.get_by_role("button", name=f"Dismiss {outbox_id}").click()

    expect(page.get_by_role("status")).to_contain_text(f"Dismissed {outbox_id}")
    expect(page.get_by_text("The error queue is empty")).to_be_visible()
    screens.save(page, "errors-empty")
    assert _open_ids(runtime) == []
    (entry,) = audit_entries(runtime, "dismiss_error")
    assert (entry.actor, entry.subject_id, entry.after["reason"]) == (
        "Olga",
        outbox_id,
        "A landline: Carla called the customer instead",
    )
    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("table.list")).to_contain_text("dismiss error")


def test_the_list_refreshes_without_wiping_a_ticked_row_or_an_open_form(
    runtime: Runtime, server: str, page: Page, screens: Screens, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(errors_page, "REFRESH_SECONDS", 1)  # 20 s in the shop; a second here
    now = clock.now()
    first = add_dead_timer(runtime.engine, now - timedelta(hours=2))
    add_person(runtime, "Olga", "owner")
    sign_in(page, server, "Olga")
    page.goto(server + "/errors")
    page.evaluate("window.notReloaded = true")

    second, _ = add_dead_outbox(runtime.engine, now - timedelta(minutes=30), target="email")
    expect(page.locator("#errors tbody tr")).to_have_count(2, timeout=10_000)  # arrived by itself

    page.get_by_label(f"Select {first}").check()
    add_inbox_error(runtime.engine, now - timedelta(minutes=1))
    page.wait_for_timeout(2500)
    expect(page.locator("#errors tbody tr")).to_have_count(2)  # no refresh while a row is ticked
    expect(page.get_by_label(f"Select {first}")).to_be_checked()

    page.get_by_label(f"Select {first}").uncheck()
    expect(page.locator("#errors tbody tr")).to_have_count(3, timeout=10_000)
    row = page.locator(f"#row-{second}")
    row.get_by_text("Dismiss", exact=True).click()
    row.get_by_label("Why it needs no retry").fill("Bounced: the address is a typo")
    add_dead_timer(runtime.engine, now - timedelta(minutes=2), kind="estimate_followup")
    page.wait_for_timeout(2500)
    expect(row.get_by_label("Why it needs no retry")).to_have_value("Bounced: the address is a typo")
    screens.save(page, "errors-dismiss-form")
    row.get_by_role("button", name=f"Dismiss {second}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Dismissed {second}")
    expect(page.locator("#errors tbody tr")).to_have_count(3)
    assert page.evaluate("window.notReloaded") is True
    assert second not in _open_ids(runtime)


def test_a_csr_has_no_errors_page(
    runtime: Runtime, server: str, page: Page, screens: Screens, clock: SimulatedClock
) -> None:
    error_id = add_dead_timer(runtime.engine, clock.now() - timedelta(hours=1))
    add_person(runtime, "Carla", "office")
    sign_in(page, server, "Carla")

    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Errors")).to_have_count(0)
    response = page.goto(server + "/errors")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not for your role")
    expect(page.locator("main")).to_contain_text("may not retry errors")
    screens.save(page, "errors-forbidden")
    assert _open_ids(runtime) == [error_id] and audit_entries(runtime, "retry_error") == []
