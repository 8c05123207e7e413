"""Duplicates in Chromium: operations reads a pair side by side with the evidence, merges it and undoes the merge
from the history, each checked in the database, on the timeline and in the audit log; a CSR has no Duplicates page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import merge_candidates, merges
from tests.browser.conftest import Screens
from tests.browser.support import sign_in
from tests.service.access.support import add_person, audit_entries
from tests.service.support import live_customers, rows, timeline
from tests.web.customer_support import queued_pair

pytestmark = pytest.mark.slow


def test_operations_merges_a_pair_and_undoes_it(runtime: Runtime, server: str, page: Page, screens: Screens) -> None:
    pair = queued_pair(runtime)
    add_person(runtime, "Olga", "operations")
    sign_in(page, server, "Olga")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Duplicates").click()
    card = page.locator(f"#pair-{pair.id}")
    expect(card).to_contain_text("likely the same customer")
    expect(card.locator(".side").first).to_contain_text("Pat Doe")
    card.get_by_text("Why they may be one customer").click()
    expect(card.locator(".evidence")).to_contain_text("Phone: shared")
    screens.save(page, "duplicates")
    page.evaluate("window.notReloaded = true")

    card.get_by_role("button", name="Merge").click()

    expect(page.get_by_role("status")).to_contain_text("Merged (merge")
    expect(page.locator(".card")).to_have_count(0)
    expect(page.get_by_text("No pairs to review")).to_be_visible()
    (merge,) = rows(runtime, merges)
    assert live_customers(runtime) == 1 and merge.decided_by == "person:Olga"
    assert [a.summary[:30] for a in timeline(runtime, pair.other_id, "customer.merged")] == [
        "Olga merged a duplicate record"
    ]
    assert [e.actor for e in audit_entries(runtime, "merge")] == ["Olga"]
    screens.save(page, "duplicates-merged")

    page.locator(f"#merge-{merge.id}").get_by_role("button", name=f"Undo merge {merge.id}").click()

    expect(page.get_by_role("status")).to_contain_text(f"Merge {merge.id} undone")
    expect(page.locator(f"#merge-{merge.id}")).to_contain_text("Undone")
    expect(page.locator(".card")).to_have_count(1)  # the pair is back in the queue
    assert page.evaluate("window.notReloaded") is True
    assert live_customers(runtime) == 2 and rows(runtime, merge_candidates)[0].status == "open"
    assert rows(runtime, merges)[0].undone_by == "Olga"
    assert len(timeline(runtime, pair.customer_id, "customer.unmerged")) == 1
    assert [e.actor for e in audit_entries(runtime, "undo_merge")] == ["Olga"]


def test_a_csr_has_no_duplicates_page(runtime: Runtime, server: str, page: Page, screens: Screens) -> None:
    queued_pair(runtime)
    add_person(runtime, "Carla", "office")
    sign_in(page, server, "Carla")

    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Duplicates")).to_have_count(0)
    response = page.goto(server + "/duplicates")

    assert response is not None and response.status == 403
    expect(page.get_by_role("main")).to_contain_text("Your role may not merge records.")
    expect(page.get_by_role("button", name="Merge")).to_have_count(0)
    screens.save(page, "duplicates-forbidden-csr")
    assert rows(runtime, merges) == [] and audit_entries(runtime, "merge") == []
