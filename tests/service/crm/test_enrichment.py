"""Enrichment on intake, through the bus: offline facts fill gaps, with their source; nothing typed is overwritten."""

from __future__ import annotations

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.service.records import FieldWrite
from fieldrelay.storage.tables import customer_fields, customers
from tests.service.support import HCP, apply, at, in_store, only_customer, rows

FORMS = "forms"


def fields(runtime: Runtime, customer_id: str) -> dict[str, tuple[object, str]]:
    """The customer's stored fields: name -> (value, source)."""
    found = rows(runtime, customer_fields, customer_fields.c.customer_id == customer_id)
    return {r.field: (r.value, r.source) for r in found}


def created(**details: object) -> ev.CustomerCreated:
    """A Housecall Pro customer record with the given details."""
    snapshot = ev.CustomerSnapshot(external_id="cus_1", first_name="Ana", last_name="Lopez", **details)  # type: ignore[arg-type]
    return ev.CustomerCreated(source=HCP, occurred_at=at(-10), customer=snapshot)


def test_a_zip_code_fills_city_state_and_time_zone_with_their_source(runtime: Runtime) -> None:
    apply(runtime, created(address=ev.Address(street="500 W 2nd St", postal_code="78701")))
    customer = only_customer(runtime)
    assert (customer.city, customer.state) == ("Austin", "TX")
    found = fields(runtime, customer.id)
    assert found["city"] == ("Austin", "zip:zipcodes")
    assert found["time_zone"] == ("America/Chicago", "zip:zipcodes")
    assert found["street"] == ("500 W 2nd St", "vendor:housecallpro")
    assert found["address_line1"] == ("500 W 2ND ST", "scourgify")


def test_a_city_the_vendor_gave_is_never_replaced_by_the_zip_guess(runtime: Runtime) -> None:
    apply(runtime, created(address=ev.Address(street="1 Elm St", city="West Lake Hills", postal_code="78746")))
    customer = only_customer(runtime)
    assert customer.city == "West Lake Hills"
    assert fields(runtime, customer.id)["city"] == ("West Lake Hills", "vendor:housecallpro")


def test_a_value_a_person_typed_survives_the_next_vendor_update(runtime: Runtime) -> None:
    apply(runtime, created(address=ev.Address(street="1 Elm St", city="Austin", postal_code="78701")))
    customer = only_customer(runtime)
    typed = {"city": FieldWrite("Rollingwood", "person", None)}
    in_store(runtime, lambda s: s.write_fields(customer.id, typed))
    in_store(runtime, lambda s: s.update_customer(customer.id, {"city": "Rollingwood"}))

    updated = ev.CustomerSnapshot(
        external_id="cus_1", first_name="Ana", last_name="Lopez", address=ev.Address(city="Austin", street="2 Elm St")
    )
    apply(runtime, ev.CustomerUpdated(source=HCP, occurred_at=at(-1), customer=updated))
    customer = only_customer(runtime)
    assert (customer.city, customer.street) == ("Rollingwood", "2 Elm St"), "the vendor's street applies, not its city"
    assert fields(runtime, customer.id)["city"] == ("Rollingwood", "person")


def test_the_phone_numbering_plan_gives_region_and_type(runtime: Runtime) -> None:
    apply(runtime, created(phones=("(512) 555-0142",)))
    found = fields(runtime, only_customer(runtime).id)
    assert found["phone_region"] == ("US", "phonenumbers")
    assert found["phone_type"] == ("fixed_line_or_mobile", "phonenumbers")


def test_the_lead_source_is_normalised_and_the_vendors_words_are_kept(runtime: Runtime) -> None:
    apply(runtime, created(lead_source="Google Local Services"))
    customer = only_customer(runtime)
    assert customer.lead_source == "google_lsa"
    found = fields(runtime, customer.id)
    assert found["lead_source"] == ("google_lsa", "rule:lead_source")
    assert found["lead_source_raw"] == ("Google Local Services", "vendor:housecallpro")


def test_an_unparseable_address_is_still_standardised_by_the_fallback(runtime: Runtime) -> None:
    apply(runtime, created(address=ev.Address(street="Rural Route 2 Box 17 behind the barn", postal_code="78620")))
    found = fields(runtime, only_customer(runtime).id)
    value, source = found["address_line1"]
    assert source in ("scourgify", "fallback") and isinstance(value, str) and value.isupper()


def test_nothing_is_enriched_again_when_an_event_changes_nothing_it_reads(runtime: Runtime) -> None:
    apply(runtime, created(address=ev.Address(street="500 W 2nd St", postal_code="78701")))
    before = rows(runtime, customer_fields)
    apply(runtime, created(address=ev.Address(street="500 W 2nd St", postal_code="78701")))
    assert [(r.field, r.updated_at) for r in rows(runtime, customer_fields)] == [
        (r.field, r.updated_at) for r in before
    ]
    assert len(rows(runtime, customers)) == 1
