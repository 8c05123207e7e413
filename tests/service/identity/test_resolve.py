"""Identity resolution on intake, through the bus: auto-merge, the household rule, the review queue, undo."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.service.crm.ports import MergeRefused
from fieldrelay.service.identity import review as identity_review
from fieldrelay.storage.tables import (
    activities,
    customer_emails,
    customer_phones,
    customers,
    external_ids,
    jobs,
    merge_candidates,
    merges,
)
from tests.service.support import HCP, PAT_E164, apply, at, job_event, live_customers, pat, rows, timeline

FORMS = "forms"
ADDRESS = ev.Address(street="123 Main Street Apt 4", city="Austin", state="TX", postal_code="78701")


def form_lead(ref: str, minutes: float, person: ev.CustomerSnapshot) -> ev.LeadReceived:
    """A web-form enquiry; the form gives no customer id, so its submission id stands in."""
    return ev.LeadReceived(source=FORMS, occurred_at=at(minutes), customer=person, lead_ref=ref, channel="web_form")


def person(ref: str, first: str | None, last: str | None, **details: Any) -> ev.CustomerSnapshot:
    """A customer snapshot from a form."""
    return ev.CustomerSnapshot(external_id=ref, first_name=first, last_name=last, **details)


def live(runtime: Runtime) -> list[Any]:
    """Live customers in the order they were created."""
    return rows(runtime, customers, customers.c.merged_into.is_(None))


def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Who owns what, table by table, for comparing before and after a merge and its undo."""
    owned = {
        "customers": (customers, ("id", "first_name", "last_name", "merged_into", "sms_opted_out")),
        "phones": (customer_phones, ("customer_id", "e164")),
        "emails": (customer_emails, ("customer_id", "email")),
        "external_ids": (external_ids, ("connector", "kind", "external_id", "entity_id")),
        "jobs": (jobs, ("id", "customer_id", "status")),
        "activities": (activities, ("id", "customer_id", "kind")),
    }
    with runtime.engine.connect() as conn:
        return {
            name: sorted(tuple(row) for row in conn.execute(select(*(table.c[c] for c in columns))).all())
            for name, (table, columns) in owned.items()
        }


def test_a_web_form_lead_from_a_known_customer_is_merged_into_them_automatically(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    lead = person("sub_1", "Pat", "Doe", phones=("512.555.0142",), emails=("new.pat@example.com",))
    apply(runtime, form_lead("sub_1", -5, lead))

    (customer,) = live(runtime)
    kept = [(r.connector, r.external_id) for r in rows(runtime, external_ids, external_ids.c.entity_id == customer.id)]
    assert sorted(kept) == [(FORMS, "sub_1"), (HCP, "cus_1")], "the merge keeps every vendor id"
    emails = rows(runtime, customer_emails, customer_emails.c.customer_id == customer.id)
    assert sorted(e.email for e in emails) == ["new.pat@example.com", "pat.doe@example.com"]
    (merge,) = rows(runtime, merges)
    assert (merge.survivor_id, merge.decided_by, merge.undone_at) == (customer.id, "auto", None)
    assert merge.score >= runtime.settings.identity.merge_at
    assert {"field": "phone", "outcome": "shared"} in [{k: e[k] for k in ("field", "outcome")} for e in merge.evidence]
    (note,) = timeline(runtime, customer.id, "customer.merged")
    assert "phone shared" in note.summary
    assert len(timeline(runtime, customer.id, "lead.received")) == 1


def test_formats_and_abbreviations_do_not_hide_the_same_homeowner(runtime: Runtime) -> None:
    first = person("cus_9", "Robert", "Smith", phones=("(512) 555-0100",), address=ADDRESS)
    apply(runtime, ev.CustomerCreated(source=HCP, occurred_at=at(-60), customer=first))
    variant = ev.Address(street="123 main st #4", city="austin", state="tx", postal_code="78701-1234")
    second = person("sub_2", "Bob", "Smith", phones=("+1 512 555 0100",), address=variant)
    apply(runtime, form_lead("sub_2", -5, second))
    assert live_customers(runtime) == 1
    assert len(rows(runtime, merges)) == 1


def test_two_adults_of_one_household_stay_two_people(runtime: Runtime) -> None:
    """Same address and landline, different first names: two people in one household, neither merged nor queued."""
    home = {"phones": ("512-555-0100",), "address": ADDRESS}
    apply(
        runtime, ev.CustomerCreated(source=HCP, occurred_at=at(-60), customer=person("cus_1", "John", "Smith", **home))
    )
    apply(runtime, form_lead("sub_1", -5, person("sub_1", "Mary", "Smith", **home)))

    assert sorted(c.first_name for c in live(runtime)) == ["John", "Mary"]
    assert rows(runtime, merges) == []
    assert rows(runtime, merge_candidates) == []


def test_an_uncertain_pair_waits_in_the_review_queue(runtime: Runtime) -> None:
    """Only a phone and no first name: nothing says which adult of the household this is, so a person decides."""
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    apply(runtime, form_lead("sub_1", -5, person("sub_1", None, "Doe", phones=(PAT_E164,))))

    assert live_customers(runtime) == 2
    (pair,) = rows(runtime, merge_candidates)
    (old,) = rows(runtime, external_ids, external_ids.c.external_id == "cus_1")
    (new,) = rows(runtime, external_ids, external_ids.c.external_id == "sub_1")
    assert (pair.customer_id, pair.other_id, pair.status) == (new.entity_id, old.entity_id, "open")
    assert runtime.settings.identity.review_at <= pair.score < runtime.settings.identity.merge_at


def test_a_person_merges_a_queued_pair_and_can_undo_it_exactly(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    apply(runtime, form_lead("sub_1", -5, person("sub_1", None, "Doe", phones=(PAT_E164,), emails=("pd@example.com",))))
    (pair,) = rows(runtime, merge_candidates)
    before = snapshot(runtime)

    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        merge_id = identity_review.merge_pair(ctx, pair.id, "dana")
    assert live_customers(runtime) == 1
    (merged,) = rows(runtime, merge_candidates)
    assert merged.status == "merged"
    (merge,) = rows(runtime, merges)
    assert (merge.id, merge.decided_by) == (merge_id, "person:dana")

    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        survivor_id, restored_id = identity_review.unmerge(ctx, merge_id, "dana")
    assert (survivor_id, restored_id) == (pair.other_id, pair.customer_id)
    after = snapshot(runtime)
    notes = {a[0] for a in after["activities"]} - {a[0] for a in before["activities"]}
    assert {k: v for k, v in after.items() if k != "activities"} == {
        k: v for k, v in before.items() if k != "activities"
    }
    # Besides the record of the merge and its undo, every timeline entry is back with its owner.
    assert [a for a in after["activities"] if a[0] not in notes] == before["activities"]
    assert rows(runtime, merge_candidates)[0].status == "open", "the pair is back in the queue"
    with pytest.raises(MergeRefused, match="already undone"), runtime.unit_of_work("default") as ctx:
        identity_review.unmerge(ctx, merge_id, "dana")


def test_an_automatic_merge_can_be_undone_and_the_lead_keeps_its_own_history(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    apply(runtime, form_lead("sub_1", -5, person("sub_1", "Pat", "Doe", phones=(PAT_E164,))))
    (merge,) = rows(runtime, merges)
    with runtime.unit_of_work("default") as ctx:
        identity_review.unmerge(ctx, merge.id, "dana")

    assert live_customers(runtime) == 2
    restored = next(c for c in live(runtime) if c.id == merge.merged_id)
    owned = rows(runtime, external_ids, external_ids.c.entity_id == restored.id)
    assert [(r.connector, r.external_id) for r in owned] == [(FORMS, "sub_1")]
    assert [a.kind for a in timeline(runtime, restored.id)] == ["customer.created", "customer.unmerged"]
    # What was written after the merge stays where it was written: the lead landed on the survivor's timeline.
    assert [a.kind for a in timeline(runtime, merge.survivor_id)][-3:] == [
        "customer.merged",
        "lead.received",
        "customer.unmerged",
    ]


def test_keeping_a_pair_apart_takes_it_out_of_the_queue(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    apply(runtime, form_lead("sub_1", -5, person("sub_1", None, "Doe", phones=(PAT_E164,))))
    (pair,) = rows(runtime, merge_candidates)
    with runtime.unit_of_work("default") as ctx:
        identity_review.keep_apart(ctx, pair.id, "dana")
    (decided,) = rows(runtime, merge_candidates)
    assert (decided.status, decided.decided_by) == ("distinct", "dana")
    assert live_customers(runtime) == 2
    with pytest.raises(MergeRefused, match="already distinct"), runtime.unit_of_work("default") as ctx:
        identity_review.merge_pair(ctx, pair.id, "dana")


def test_later_events_for_a_merged_vendor_id_reach_the_survivor(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    jobber_pat = ev.CustomerSnapshot(
        external_id="Z2lkOi8v", first_name="Pat", last_name="Doe", phones=("512 555 0142",)
    )
    booked = ev.JobBooked(
        source="jobber", occurred_at=at(-30), customer=jobber_pat, job=ev.JobSnapshot(external_id="J-7")
    )
    apply(runtime, booked)
    apply(runtime, ev.JobCompleted(source="jobber", occurred_at=at(-5), customer=jobber_pat, job=booked.job))
    (customer,) = live(runtime)
    assert sorted(j.status for j in rows(runtime, jobs, jobs.c.customer_id == customer.id)) == ["booked", "completed"]
    assert len(rows(runtime, merges)) == 1, "the second Jobber event found the linked id and merged nothing again"
