"""Customer search and profile without a browser: search by phone in any format, name, email or address (and what an
empty search or no match says), the profile's sections and their empty states, the timeline by pages, editing a
contact field (the person's value kept, audited), ending a sequence and undoing a merge — each by the roles allowed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.server import build_app
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import customer_fields, customer_phones, merges
from tests.service.access.support import add_person, audit_entries
from tests.service.sequences.support import enrollment
from tests.service.support import HCP, apply, at, in_store, only_customer, rows
from tests.service.tasks.support import customer_id, service_recovery, tasks_settings
from tests.web.customer_support import as_person, post, queued_pair

PEOPLE = {"Carla": "office", "Dan": "dispatcher", "Sam": "sales", "Olga": "operations", "Tia": "technician"}
LONG = "Maximilian Alexander-Worthington"


@pytest.fixture
def settings() -> Settings:
    """The task shop (Carla office, Dan dispatcher, Sam sales, Olga operations) with the sequence library."""
    return tasks_settings()


@pytest.fixture
def client(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The server's app with everyone able to sign in."""
    monkeypatch.setenv("FIELDRELAY_SESSION_SECRET", "test-session-secret")
    for name, role in PEOPLE.items():
        add_person(runtime, name, role)
    with TestClient(build_app(runtime)) as test_client:
        yield test_client


def no_email_customer(runtime: Runtime) -> str:
    """A customer with a long name, a phone and an address, and no email."""
    home = ev.Address(street="12 Oak Hollow Rd", city="Austin", state="TX", postal_code="78701")
    who = ev.CustomerSnapshot(
        external_id="cus_7",
        first_name="Maximilian",
        last_name="Alexander-Worthington",
        phones=("512-555-0177",),
        address=home,
    )
    apply(runtime, ev.CustomerCreated(source=HCP, occurred_at=at(-60), customer=who))
    return str(only_customer(runtime).id)


def test_search_by_phone_in_any_format_name_or_address_and_its_empty_states(
    runtime: Runtime, client: TestClient
) -> None:
    assert client.get("/customers", follow_redirects=False).headers["location"] == "/signin?next=/customers"
    found_id = no_email_customer(runtime)
    as_person(client, "Tia")  # a technician reads customers too

    assert "Type a phone number in any format" in client.get("/customers").text
    for text in ("(512) 555-0177", "+1 512 555 0177", "worthington", "oak hollow", "78701"):
        page = client.get("/customers", params={"q": text}).text
        assert f'href="/customers/{found_id}"' in page, text
        assert LONG in page and "no email" in page
    missing = client.get("/customers", params={"q": "Nobody Here"}).text
    assert "No customer matches “Nobody Here”" in missing


def test_the_profile_shows_each_section_with_what_an_empty_one_means(runtime: Runtime, client: TestClient) -> None:
    found_id = no_email_customer(runtime)
    as_person(client, "Sam")

    page = client.get(f"/customers/{found_id}").text
    assert LONG in page and "+15125550177 · texts allowed" in page
    for empty in (
        "No email: no emails can be sent.",
        "No jobs yet.",
        "No deals.",
        "No texts or emails to this customer yet.",
        "Never on a follow-up sequence.",
        "No open tasks for this customer.",
        "Never merged with another record.",
        "Not in the referral programme",
    ):
        assert empty in page, empty
    assert "Edit name" not in page  # sales may not edit contacts
    assert client.get("/customers/no-such-id").status_code == 404


def test_the_timeline_comes_newest_first_by_pages(runtime: Runtime, client: TestClient) -> None:
    found_id = no_email_customer(runtime)  # its first entry: "Customer record created"

    def notes(store: SqlMirror) -> None:
        for n in range(30):
            store.add_activity(found_id, at(n), "note", f"Note number {n}", "test", True)

    in_store(runtime, notes)
    as_person(client, "Carla")

    first = client.get(f"/customers/{found_id}").text
    assert first.index("Note number 29") < first.index("Note number 5") and "Note number 4" not in first
    assert "Page 1 of 2 (31 entries)" in first
    second = client.get(f"/customers/{found_id}", params={"page": 2}).text
    assert "Note number 4" in second and "Customer record created" in second and "Note number 29" not in second


def test_a_csr_edits_a_phone_kept_as_hers_and_audited(runtime: Runtime, client: TestClient) -> None:
    found_id = no_email_customer(runtime)
    token = as_person(client, "Carla")
    assert "Add a phone" in client.get(f"/customers/{found_id}").text

    status, page = post(client, f"/customers/{found_id}/contact/phone", token, phone="(737) 555-0123")

    assert status == 200 and "Saved the phone" in page and "+17375550123 · texts allowed" in page
    # Typed by a person, it is the primary phone now: listed first, marked, and what texts and CRMs use.
    assert page.index("+17375550123 · texts allowed · <strong") < page.index("+15125550177 · texts allowed</div>")
    assert sorted(r.e164 for r in rows(runtime, customer_phones)) == ["+15125550177", "+17375550123"]
    (typed,) = rows(runtime, customer_fields, customer_fields.c.field == "phone")
    assert (typed.value, typed.source) == ("+17375550123", "person")
    (entry,) = audit_entries(runtime, "edit_contact")
    assert (entry.actor, entry.via, entry.subject_type, entry.subject_id) == ("Carla", "web", "customer", found_id)
    assert (entry.before, entry.after) == ({"phone": "+15125550177"}, {"field": "phone", "phone": "+17375550123"})

    status, page = post(client, f"/customers/{found_id}/contact/email", token, htmx=False, email="not an email")
    assert status == 422 and "Not saved: not an email is not an email address." in page
    assert len(audit_entries(runtime, "edit_contact")) == 1


def test_a_dispatcher_may_not_edit_a_contact(runtime: Runtime, client: TestClient) -> None:
    found_id = no_email_customer(runtime)
    token = as_person(client, "Dan")
    assert "Edit address" not in client.get(f"/customers/{found_id}").text

    status, page = post(client, f"/customers/{found_id}/contact/name", token, first_name="Max")

    assert status == 403 and "Your role may not edit contact details." in page
    assert only_customer(runtime).first_name == "Maximilian"
    assert audit_entries(runtime, "edit_contact") == []


def test_a_csr_ends_a_sequence_and_sales_may_not(runtime: Runtime, client: TestClient) -> None:
    service_recovery(runtime)
    pat_id, row = customer_id(runtime), enrollment(runtime, "service_recovery")
    sam = as_person(client, "Sam")
    assert "End this sequence" not in client.get(f"/customers/{pat_id}").text
    assert post(client, f"/customers/{pat_id}/enrolments/{row.id}/end", sam)[0] == 403
    client.post("/signout", data={"csrf_token": sam})

    token = as_person(client, "Carla")
    status, page = post(client, f"/customers/{pat_id}/enrolments/{row.id}/end", token, reason="Called to say stop")

    assert status == 200 and "Ended service recovery" in page
    assert enrollment(runtime, "service_recovery").exit_reason == "ended by Carla: Called to say stop"
    (entry,) = audit_entries(runtime, "end_enrolment")
    assert (entry.actor, entry.subject_id, entry.after) == (
        "Carla",
        row.id,
        {"status": "exited", "reason": "Called to say stop"},
    )
    again = post(client, f"/customers/{pat_id}/enrolments/{row.id}/end", token)
    assert again[0] == 200 and "Not ended: this enrolment has already exited." in again[1]


def test_operations_undoes_a_merge_from_the_profile_and_a_csr_may_not(runtime: Runtime, client: TestClient) -> None:
    pair = queued_pair(runtime)
    olga = as_person(client, "Olga", "/duplicates")
    assert post(client, f"/duplicates/{pair.id}/merge", olga)[0] == 200
    (merge,) = rows(runtime, merges)
    client.post("/signout", data={"csrf_token": olga})

    carla = as_person(client, "Carla")
    assert "Undo merge" not in client.get(f"/customers/{pair.other_id}").text
    assert post(client, f"/merges/{merge.id}/undo", carla)[0] == 403
    client.post("/signout", data={"csrf_token": carla})

    olga = as_person(client, "Olga")
    profile = client.get(f"/customers/{pair.other_id}").text
    assert "Another record</a> was merged into this one" in profile and "Undo merge" in profile
    status, _ = post(client, f"/merges/{merge.id}/undo", olga, htmx=False, back=f"/customers/{pair.other_id}")
    assert status == 303
    assert rows(runtime, merges)[0].undone_by == "Olga"
    assert "undone" in client.get(f"/customers/{pair.other_id}").text
    assert [e.actor for e in audit_entries(runtime, "undo_merge")] == ["Olga"]
