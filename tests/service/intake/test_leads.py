"""Lead handler driven through the bus: a new enquiry becomes or updates a customer and lands on the timeline."""

from __future__ import annotations

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.service.context import Unattachable
from fieldrelay.storage.tables import activities, customer_emails, customer_phones, customers
from tests.service.support import (
    PAT_E164,
    STRANGER,
    STRANGER_E164,
    apply,
    at,
    count,
    job_event,
    live_customers,
    only_customer,
    pat,
    rows,
    timeline,
)

FORMS = "forms"


def lead(
    ref: str,
    minutes: float,
    customer: ev.CustomerSnapshot | None,
    *,
    service: str | None = "Water heater replacement",
    notes: str | None = "Tank leaking since Sunday",
    channel: str | None = "web_form",
    referral_code: str | None = "FRIEND-25",
) -> ev.LeadReceived:
    """A web-form lead, ``minutes`` after the test start."""
    return ev.LeadReceived(
        source=FORMS,
        occurred_at=at(minutes),
        customer=customer,
        lead_ref=ref,
        service=service,
        notes=notes,
        channel=channel,
        referral_code=referral_code,
    )


def enquirer(
    ref: str,
    first: str = "Sam",
    phones: tuple[str, ...] = (STRANGER,),
    emails: tuple[str, ...] = (),
    last: str = "Rivera",
) -> ev.CustomerSnapshot:
    """The person who filled in the form; forms have no customer id, so the submission id stands in."""
    return ev.CustomerSnapshot(external_id=ref, first_name=first, last_name=last, phones=phones, emails=emails)


def test_a_lead_creates_a_customer_in_stage_lead_with_what_they_asked_for(runtime: Runtime) -> None:
    apply(runtime, lead("sub_1", -5, enquirer("sub_1", emails=("Sam@Example.com",))))

    customer = only_customer(runtime)
    assert (customer.first_name, customer.last_name, customer.name) == ("Sam", "Rivera", "Sam Rivera")
    assert customer.lifecycle_stage == "lead"
    assert [p.e164 for p in rows(runtime, customer_phones)] == [STRANGER_E164]
    assert [e.email for e in rows(runtime, customer_emails)] == ["sam@example.com"]
    assert [(a.kind, a.applied) for a in timeline(runtime, customer.id)] == [
        ("customer.created", True),
        ("lead.received", True),
        ("deal.stage", True),
    ]
    (row,) = timeline(runtime, customer.id, "lead.received")
    assert row.summary == (
        "New lead via web_form for Water heater replacement (referral code FRIEND-25): Tank leaking since Sunday"
    )
    assert (row.at, row.source) == (at(-5), FORMS)


def test_a_lead_without_service_channel_or_notes_still_reads_well(runtime: Runtime) -> None:
    apply(runtime, lead("sub_1", -5, enquirer("sub_1"), service=None, notes=None, channel=None, referral_code=None))
    (row,) = timeline(runtime, only_customer(runtime).id, "lead.received")
    assert row.summary == "New lead via forms"


def test_long_notes_are_cut_to_500_characters(runtime: Runtime) -> None:
    apply(runtime, lead("sub_1", -5, enquirer("sub_1"), notes="n" * 3000, service=None, referral_code=None))
    (row,) = timeline(runtime, only_customer(runtime).id, "lead.received")
    assert row.summary == "New lead via web_form: " + "n" * 500


def test_a_second_lead_with_the_same_phone_updates_the_customer_rather_than_duplicating(runtime: Runtime) -> None:
    apply(runtime, lead("sub_1", -30, enquirer("sub_1")))
    second = enquirer("sub_2", first="Samantha", phones=("737-555-0199",), emails=("sam@example.com",))
    apply(runtime, lead("sub_2", -5, second, service="Drain cleaning", referral_code=None, notes=None))

    assert live_customers(runtime) == 1, "the second submission was merged into the first"
    customer = only_customer(runtime)
    assert customer.first_name == "Sam", "an automatic merge fills gaps; it does not overwrite what is on record"
    assert customer.lifecycle_stage == "lead"
    assert [p.e164 for p in rows(runtime, customer_phones, customer_phones.c.customer_id == customer.id)] == [
        STRANGER_E164
    ]
    assert [e.email for e in rows(runtime, customer_emails, customer_emails.c.customer_id == customer.id)] == [
        "sam@example.com"
    ]
    assert [a.summary for a in timeline(runtime, customer.id, "lead.received")] == [
        "New lead via web_form for Water heater replacement (referral code FRIEND-25): Tank leaking since Sunday",
        "New lead via web_form for Drain cleaning",
    ]
    # The second record's own history came with it, and the merge says why it happened.
    assert len(timeline(runtime, customer.id, "customer.created")) == 2
    (merged,) = timeline(runtime, customer.id, "customer.merged")
    assert "recognised as this customer and merged automatically" in merged.summary


def test_a_lead_from_an_existing_customer_goes_on_their_timeline_and_keeps_their_stage(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600)), job_event(ev.JobCompleted, at(-500)))
    assert only_customer(runtime).lifecycle_stage == "customer"

    apply(runtime, lead("sub_9", -5, enquirer("sub_9", first="Pat", last="Doe", phones=("512 555 0142",))))

    assert live_customers(runtime) == 1
    customer = only_customer(runtime)
    assert customer.lifecycle_stage == "customer"
    assert [p.e164 for p in rows(runtime, customer_phones, customer_phones.c.customer_id == customer.id)] == [PAT_E164]
    assert len(timeline(runtime, customer.id, "lead.received")) == 1


def test_a_lead_without_contact_details_is_unattachable(runtime: Runtime) -> None:
    with pytest.raises(Unattachable, match="sub_1 carries no contact details"):
        apply(runtime, lead("sub_1", -5, None))
    assert count(runtime, customers) == 0
    assert count(runtime, activities) == 0


def test_the_same_lead_applied_twice_keeps_one_customer(runtime: Runtime) -> None:
    apply(runtime, lead("sub_1", -5, enquirer("sub_1")))
    apply(runtime, lead("sub_1", -5, enquirer("sub_1")))
    assert count(runtime, customers) == 1


def test_two_leads_without_a_vendor_customer_id_and_different_contacts_are_two_customers(runtime: Runtime) -> None:
    first = ev.CustomerSnapshot(external_id="", first_name="Sam", phones=(STRANGER,))
    second = ev.CustomerSnapshot(
        external_id="", first_name="Alex", phones=("(512) 555-0177",), emails=("a@example.com",)
    )
    apply(runtime, lead("sub_1", -10, first), lead("sub_2", -5, second))
    assert count(runtime, customers) == 2
    assert {c.first_name for c in rows(runtime, customers)} == {"Sam", "Alex"}


def test_a_lead_merges_into_a_customer_matched_by_email_when_the_phone_is_new(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    apply(
        runtime,
        lead(
            "sub_3",
            -5,
            enquirer("sub_3", first="Pat", last="Doe", phones=("(512) 555-0177",), emails=("PAT.DOE@example.com",)),
        ),
    )
    assert live_customers(runtime) == 1
    phones = rows(runtime, customer_phones, customer_phones.c.customer_id == only_customer(runtime).id)
    assert sorted(p.e164 for p in phones) == ["+15125550142", "+15125550177"]
