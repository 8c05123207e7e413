"""A person edits a customer's contact details: the value is kept as the person's, a later webhook or enrichment
with a lower-ranked source never overwrites it, and a value that cannot be kept is refused with nothing changed."""

from __future__ import annotations

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.service.crm import contacts
from fieldrelay.service.crm.contacts import ContactRefused
from fieldrelay.service.crm.enrichment import record_and_enrich
from fieldrelay.storage.tables import customer_emails, customer_phones
from tests.service.crm.test_enrichment import created, fields
from tests.service.handoff.support import act
from tests.service.support import HCP, apply, at, only_customer, rows, timeline


def edit(runtime: Runtime, group: str, **typed: str) -> contacts.Edited:
    """Edit the one customer's ``group`` as Carla."""
    customer_id = only_customer(runtime).id
    return act(runtime, lambda ctx: contacts.edit(ctx, customer_id, group, typed, "Carla"))


def test_a_typed_name_and_address_survive_a_later_webhook_and_enrichment(runtime: Runtime) -> None:
    apply(runtime, created(address=ev.Address(street="1 Elm St", city="Austin", postal_code="78701")))
    before = edit(runtime, "name", first_name="  Ana  María ", last_name="López-García")
    edit(runtime, "address", street="12 Oak Hollow Rd", unit="", city="Rollingwood", state="TX", postal_code="78746")

    assert before.before == {"first_name": "Ana", "last_name": "Lopez"}
    assert before.after == {"first_name": "Ana María", "last_name": "López-García"}
    # The field tool still has the old details and sends them again, later than the edit.
    again = ev.CustomerSnapshot(
        external_id="cus_1",
        first_name="Ana",
        last_name="Lopez",
        address=ev.Address(street="1 Elm St", city="Austin", state="TX", postal_code="78701"),
    )
    apply(runtime, ev.CustomerUpdated(source=HCP, occurred_at=at(60), customer=again))
    customer = only_customer(runtime)
    act(runtime, lambda ctx: record_and_enrich(ctx, customer.id, at(61), {}))  # enrichment runs again

    customer = only_customer(runtime)
    assert (customer.name, customer.first_name, customer.last_name) == (
        "Ana María López-García",
        "Ana María",
        "López-García",
    )
    assert (customer.street, customer.city, customer.postal_code) == ("12 Oak Hollow Rd", "Rollingwood", "78746")
    held = fields(runtime, customer.id)
    for name in ("name", "first_name", "last_name", "street", "city", "state", "postal_code"):
        assert held[name][1] == "person", name
    assert held["unit"] == (None, "person")  # a deliberate blank stays blank
    edits = [a.summary for a in timeline(runtime, customer.id, "customer.edited")]
    assert edits == [
        "Carla set the name: Ana María, López-García",
        "Carla set the address: 12 Oak Hollow Rd, Rollingwood, TX, 78746",
    ]


def test_a_typed_phone_or_email_is_added_in_its_normal_form_and_kept_as_the_person_s(runtime: Runtime) -> None:
    apply(runtime, created())
    phone = edit(runtime, "phone", phone="(512) 555-0199")
    email = edit(runtime, "email", email=" Ana@Example.COM ")

    assert (phone.before, phone.after) == ({"phone": None}, {"phone": "+15125550199"})
    assert (email.before, email.after) == ({"email": None}, {"email": "ana@example.com"})
    customer = only_customer(runtime)
    assert [r.e164 for r in rows(runtime, customer_phones)] == ["+15125550199"]
    assert [r.email for r in rows(runtime, customer_emails)] == ["ana@example.com"]
    assert fields(runtime, customer.id)["phone"] == ("+15125550199", "person")


@pytest.mark.parametrize(
    ("group", "typed", "says"),
    [
        ("phone", {"phone": "555-01"}, "is not a phone number"),
        ("email", {"email": "ana at example"}, "is not an email address"),
        ("name", {"first_name": " ", "last_name": ""}, "give a first or last name"),
        ("address", {"street": "x" * 201}, "street is too long"),
        ("lead_source", {}, "is not a contact field"),
    ],
)
def test_a_value_that_cannot_be_kept_is_refused(runtime: Runtime, group: str, typed: dict[str, str], says: str) -> None:
    apply(runtime, created())
    with pytest.raises(ContactRefused, match=says):
        edit(runtime, group, **typed)
    customer = only_customer(runtime)
    assert (customer.first_name, timeline(runtime, customer.id, "customer.edited")) == ("Ana", [])
