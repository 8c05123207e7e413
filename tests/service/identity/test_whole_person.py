"""Intake on both databases: the whole person is matched, one person known twice is merged, a person's "keep apart"
and undo are never proposed again, and marketplace leads (masked phones, relay emails, "Jane S.") find their owner."""

from __future__ import annotations

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.service.identity import review as identity_review
from fieldrelay.storage.tables import customers, merge_candidates, merges
from tests.service.identity.test_resolve import ADDRESS, form_lead, live, person
from tests.service.support import HCP, apply, at, rows

OLD_HOME = ev.Address(street="9 Oak Lane", city="Austin", state="TX", postal_code="78704")


def created(ref: str, minutes: float, who: ev.CustomerSnapshot) -> ev.CustomerCreated:
    return ev.CustomerCreated(source=HCP, occurred_at=at(minutes), customer=who)


def keep_apart_or_merge(runtime: Runtime, candidate_id: int, action: str) -> int | None:
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        if action == "merge":
            return identity_review.merge_pair(ctx, candidate_id, "dana")
        identity_review.keep_apart(ctx, candidate_id, "dana")
        return None


def test_a_new_record_is_matched_against_a_name_and_address_only_a_merged_record_had(runtime: Runtime) -> None:
    """Kate moved: the shop knows her at the new address, and her old record (merged in) at the old one. A form from
    the old address with no phone or email matches the merged record; the survivor's own address says "moved"."""
    apply(
        runtime, created("cus_1", -600, person("cus_1", "Katherine", "Ward", phones=("512-555-0101",), address=ADDRESS))
    )
    apply(
        runtime, form_lead("sub_1", -500, person("sub_1", "Kate", "Ward", phones=("512-555-0101",), address=OLD_HOME))
    )
    assert len(live(runtime)) == 1 and len(rows(runtime, merges)) == 1
    (survivor,) = live(runtime)
    assert survivor.street == ADDRESS.street  # the survivor keeps its address; the old one lives on the merged record

    apply(runtime, form_lead("sub_2", -5, person("sub_2", "Kate", "Ward", address=OLD_HOME)))
    assert [c.id for c in live(runtime)] == [survivor.id]
    assert len(rows(runtime, merges)) == 2


def test_two_clear_matches_that_are_one_person_are_merged_not_queued(runtime: Runtime) -> None:
    """The shop holds Dana Cruz twice (a phone on one, an email on the other, no address on either): a record with
    both names her twice over, so both fold into one customer."""
    apply(runtime, created("cus_1", -600, person("cus_1", "Dana", "Cruz", phones=("512-555-0111",))))
    apply(runtime, created("cus_2", -500, person("cus_2", "Dana", "Cruz", emails=("dana.cruz@gmail.com",))))
    assert len(live(runtime)) == 2
    both = person("sub_1", "Dana", "Cruz", phones=("512-555-0111",), emails=("dana.cruz@gmail.com",))
    apply(runtime, form_lead("sub_1", -5, both))
    (one,) = live(runtime)
    assert one.first_name == "Dana"
    assert len(rows(runtime, merges)) == 2
    assert rows(runtime, merge_candidates) == []


def test_a_father_and_son_both_clearly_matching_go_to_review_not_merge(runtime: Runtime) -> None:
    apply(
        runtime, created("cus_1", -600, person("cus_1", "Robert", "Hale Sr", phones=("512-555-0301",), address=ADDRESS))
    )
    apply(
        runtime, created("cus_2", -500, person("cus_2", "Robert", "Hale Jr", phones=("512-555-0302",), address=ADDRESS))
    )
    apply(runtime, form_lead("sub_1", -5, person("sub_1", "Robert", "Hale", phones=("512-555-0302",), address=ADDRESS)))
    assert len(live(runtime)) == 3
    assert rows(runtime, merges) == []
    assert len(rows(runtime, merge_candidates)) == 2


def test_a_pair_kept_apart_is_never_proposed_or_merged_again(runtime: Runtime) -> None:
    """Sam Lee twice, by name alone: a person says two people. A later record with the phone of one and the email of
    the other fits both clearly; as a person kept them apart, it is queued, never merging the two."""
    zip_only = ev.Address(postal_code="78704")
    apply(runtime, created("cus_1", -600, person("cus_1", "Sam", "Lee", phones=("512-555-0400",), address=zip_only)))
    apply(runtime, form_lead("sub_1", -500, person("sub_1", "Sam", "Lee", emails=("sam@lee.net",), address=zip_only)))
    (pair,) = rows(runtime, merge_candidates)
    keep_apart_or_merge(runtime, pair.id, "apart")
    later = person("sub_2", "Sam", "Lee", phones=("512-555-0400",), emails=("sam@lee.net",), address=zip_only)
    apply(runtime, form_lead("sub_2", -5, later))
    assert len(live(runtime)) == 3
    assert rows(runtime, merges) == []
    kept = frozenset((pair.customer_id, pair.other_id))
    statuses = {frozenset((p.customer_id, p.other_id)): p.status for p in rows(runtime, merge_candidates)}
    assert statuses.pop(kept) == "distinct"
    assert len(statuses) == 2 and set(statuses.values()) == {"open"}  # the new record against each, for a person


def test_an_undone_merge_is_not_made_again_by_a_later_record(runtime: Runtime) -> None:
    """A person merged two Ana Diaz records, then undid it: two people. A later record with the phone of one and the
    email of the other fits both clearly, and is queued rather than merging them again."""
    zip_only = ev.Address(postal_code="78704")
    apply(runtime, created("cus_1", -600, person("cus_1", "Ana", "Diaz", phones=("512-555-0500",), address=zip_only)))
    apply(runtime, form_lead("sub_1", -500, person("sub_1", "Ana", "Diaz", emails=("ana@diaz.net",), address=zip_only)))
    (pair,) = rows(runtime, merge_candidates)
    merge_id = keep_apart_or_merge(runtime, pair.id, "merge")
    assert merge_id is not None
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        identity_review.unmerge(ctx, merge_id, "dana")
    later = person("sub_2", "Ana", "Diaz", phones=("512-555-0500",), emails=("ana@diaz.net",), address=zip_only)
    apply(runtime, form_lead("sub_2", -5, later))
    (undone,) = rows(runtime, merges)
    assert undone.undone_at is not None
    assert len(live(runtime)) == 3
    new_pairs = [p for p in rows(runtime, merge_candidates) if p.id != pair.id]
    assert len(new_pairs) == 2 and {p.status for p in new_pairs} == {"open"}


def test_a_marketplace_lead_with_a_masked_number_and_a_surname_initial_finds_its_owner(runtime: Runtime) -> None:
    apply(runtime, created("cus_1", -600, person("cus_1", "Jane", "Smith", phones=("512-555-0101",), address=ADDRESS)))
    masked = person(
        "tt_1",
        "Jane",
        "S.",
        phones=("830-555-0150",),
        emails=("k2j4h5@messaging.yelp.com",),
        address=ADDRESS,
        lead_source="Thumbtack",
    )
    apply(runtime, form_lead("tt_1", -5, masked))
    (jane,) = live(runtime)
    (merge,) = rows(runtime, merges)
    outcomes = {e["field"]: e["outcome"] for e in merge.evidence}
    assert outcomes["last_name"] == "initial" and "phone" not in outcomes and "email" not in outcomes
    assert jane.first_name == "Jane"


def test_spouses_on_one_tracking_number_stay_two_people(runtime: Runtime) -> None:
    tracking = "830-555-0150"
    for ref, first in (("tt_1", "Maria"), ("tt_2", "Mark")):
        lead = person(ref, first, "Lopez", phones=(tracking,), address=ADDRESS, lead_source="Google Local Services")
        apply(runtime, form_lead(ref, -5, lead))
    assert sorted(c.first_name for c in rows(runtime, customers)) == ["Maria", "Mark"]
    assert rows(runtime, merges) == [] and rows(runtime, merge_candidates) == []


def test_a_surname_initial_and_a_zip_code_shared_by_two_customers_queues_nothing(runtime: Runtime) -> None:
    """Two customers called Jane S. live in 78701: a marketplace lead "Jane S." there (a masked number) could be
    either or neither, so nobody is asked; with one Jane S. known, the pair waits for a person."""
    zip_code = ev.Address(postal_code="78701")
    apply(runtime, created("cus_1", -600, person("cus_1", "Jane", "Smith", phones=("512-555-0101",), address=zip_code)))
    apply(
        runtime,
        form_lead(
            "sub_1",
            -500,
            person("sub_1", "Jane", "S.", phones=("830-555-0150",), address=zip_code, lead_source="Thumbtack"),
        ),
    )
    assert len(rows(runtime, merge_candidates)) == 1
    apply(
        runtime, created("cus_2", -400, person("cus_2", "Jane", "Sanchez", phones=("512-555-0102",), address=zip_code))
    )
    apply(
        runtime,
        form_lead(
            "sub_2",
            -5,
            person("sub_2", "Jane", "S.", phones=("830-555-0160",), address=zip_code, lead_source="Thumbtack"),
        ),
    )
    assert len(rows(runtime, merge_candidates)) == 1
    assert len(live(runtime)) == 4
