"""Finding records by what a person types: id prefix, phone, email or the words of a name."""

from __future__ import annotations

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.storage import lookup
from tests.service.support import HCP, PAT_E164, apply, at, job_event, only_customer


def test_customers_by_prefix_phone_email_and_name_words(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-60)))
    pat_id = str(only_customer(runtime).id)
    account = runtime.settings.account_id
    with runtime.engine.connect() as conn:
        for query in (
            {"id_prefix": pat_id[:6]},
            {"phone": PAT_E164},
            {"email": "pat.doe@example.com"},
            {"words": ["doe", "PAT"]},
        ):
            found = lookup.customers_matching(conn, account, **query)
            assert [(f.id, f.name) for f in found] == [(pat_id, "Pat Doe")], query
        assert found[0].label == "Pat Doe · +15125550142 · pat.doe@example.com"
        # LIKE's wildcards are plain characters here, and nothing given finds nothing.
        assert lookup.customers_matching(conn, account, words=["%"]) == []
        assert lookup.customers_matching(conn, account, id_prefix="%") == []
        assert lookup.customers_matching(conn, account) == []


def test_what_a_person_types_finds_a_customer_by_phone_in_any_format_name_email_or_address(runtime: Runtime) -> None:
    home = ev.Address(street="12 Oak Hollow Rd", city="Austin", state="TX", postal_code="78701")
    snapshot = ev.CustomerSnapshot(
        external_id="cus_1", first_name="Pat", last_name="Doe", phones=("(512) 555-0142",), address=home
    )
    apply(runtime, ev.CustomerCreated(source=HCP, occurred_at=at(-60), customer=snapshot))
    pat_id = str(only_customer(runtime).id)
    account, region = runtime.settings.account_id, runtime.settings.default_phone_region
    with runtime.engine.connect() as conn:
        for text in ("512.555.0142", "+1 (512) 555 0142", "pat doe", "DOE", "oak hollow", "78701", pat_id[:6]):
            assert [f.id for f in lookup.customers_named(conn, account, region, text)] == [pat_id], text
        assert lookup.customers_named(conn, account, region, "  ") == []
        assert lookup.customers_named(conn, account, region, "512 555 0199") == []
        assert lookup.customers_named(conn, account, region, "elm street") == []
