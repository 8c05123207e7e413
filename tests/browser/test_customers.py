"""Customer search and profile in Chromium: a CSR finds a customer by a phone typed another way, edits the address
(kept as hers: a later webhook does not undo it) and ends a follow-up sequence, each checked in the database, on the
timeline and in the audit log; a dispatcher sees no edit controls; the empty states of a bare record."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from tests.browser.conftest import Screens
from tests.browser.support import sign_in
from tests.service.access.support import add_person, audit_entries
from tests.service.sequences.support import enrollment
from tests.service.support import HCP, apply, at, only_customer, pat, timeline
from tests.service.tasks.support import service_recovery, task_row

pytestmark = pytest.mark.slow


def test_a_csr_finds_a_customer_edits_the_address_and_ends_a_sequence(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    situation = service_recovery(runtime)  # Pat rated her visit 2/5: a service recovery with Olga's call
    row = enrollment(runtime, "service_recovery")
    add_person(runtime, "Carla", "office")
    sign_in(page, server, "Carla")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    expect(page.locator("#results")).to_contain_text("Type a phone number in any format")
    screens.save(page, "customers-search-empty")
    page.get_by_label("Phone, name, email or address").fill("512.555.0142")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results .card")).to_have_count(1)
    screens.save(page, "customers-search")
    page.locator("#results").get_by_role("link", name="Pat Doe").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Pat Doe")
    expect(page.locator("#seq-h + ul")).to_contain_text("Service recovery · active")
    expect(page.get_by_role("region", name="Open tasks")).to_contain_text("Olga")
    screens.save(page, "customer-profile")
    page.evaluate("window.notReloaded = true")

    page.get_by_text("Edit address", exact=True).click()
    page.get_by_label("Street").fill("12 Oak Hollow Rd")
    page.get_by_label("City").fill("Rollingwood")
    page.get_by_label("State").fill("TX")
    page.get_by_label("ZIP code").fill("78746")
    screens.save(page, "customer-edit-address")
    page.get_by_role("button", name="Save address").click()

    expect(page.get_by_role("status")).to_contain_text("Saved the address")
    expect(page.get_by_role("region", name="Contact")).to_contain_text("12 Oak Hollow Rd, Rollingwood, TX, 78746")
    expect(page.locator("#timeline")).to_contain_text("Carla set the address: 12 Oak Hollow Rd")
    customer = only_customer(runtime)
    assert (customer.street, customer.city, customer.postal_code) == ("12 Oak Hollow Rd", "Rollingwood", "78746")
    (edited,) = audit_entries(runtime, "edit_contact")
    assert (edited.actor, edited.via, edited.subject_id) == ("Carla", "web", customer.id)
    assert edited.after == {
        "field": "address",
        "street": "12 Oak Hollow Rd",
        "unit": None,
        "city": "Rollingwood",
        "state": "TX",
        "postal_code": "78746",
    }
    # The field tool sends its old address again: the person's address stays.
    old = ev.CustomerSnapshot(external_id="cus_1", first_name="Pat", last_name="Doe", address=ev.Address("1 Elm St"))
    apply(runtime, ev.CustomerUpdated(source=HCP, occurred_at=at(24 * 7), customer=old))
    assert only_customer(runtime).street == "12 Oak Hollow Rd"

    page.get_by_text("End this sequence", exact=True).click()
    page.get_by_label("Why").fill("Pat asked us to stop")
    page.get_by_role("button", name="End sequence").click()

    expect(page.get_by_role("status")).to_contain_text("Ended service recovery")
    expect(page.locator("#seq-h + ul")).to_contain_text("exited (ended by Carla: Pat asked us to stop)")
    expect(page.get_by_role("region", name="Open tasks")).to_contain_text("No open tasks for this customer.")
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the page's content in place
    assert enrollment(runtime, "service_recovery").status == "exited"
    assert task_row(runtime, situation.task_id).status == "cancelled"
    assert [a.summary for a in timeline(runtime, customer.id, "sequence.exited")] == [
        "Left service recovery: ended by Carla: Pat asked us to stop"
    ]
    (ended,) = audit_entries(runtime, "end_enrolment")
    assert (ended.actor, ended.subject_id) == ("Carla", row.id)
    screens.save(page, "customer-profile-after")


def test_a_dispatcher_reads_a_bare_record_without_edit_controls(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    long_name = ev.CustomerSnapshot(
        external_id="cus_9", first_name="Maximilian-Bartholomew", last_name="Alexander-Worthington-Smythe", phones=()
    )
    apply(runtime, ev.CustomerCreated(source=HCP, occurred_at=at(-60), customer=long_name))
    apply(runtime, ev.CustomerCreated(source=HCP, occurred_at=at(-50), customer=pat("cus_2")))
    add_person(runtime, "Dan", "dispatcher")
    sign_in(page, server, "Dan")

    page.goto(server + "/customers?q=worthington")
    page.locator("#results").get_by_role("link").first.click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Alexander-Worthington-Smythe")
    contact = page.get_by_role("region", name="Contact")
    expect(contact).to_contain_text("No phone: no texts can be sent.")
    expect(contact).to_contain_text("No email: no emails can be sent.")
    expect(page.get_by_text("Edit name", exact=True)).to_have_count(0)
    expect(page.get_by_role("button")).to_have_text(["Sign out"])  # nothing to do here for a dispatcher
    screens.save(page, "customer-profile-bare")
    page.goto(server + "/customers?q=nobody+at+all")
    expect(page.locator("#results")).to_contain_text("No customer matches")
