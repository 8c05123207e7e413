"""Referral capture and qualification: form and office codes, unknown codes, existing customers, each milestone,
and refunds before and after the reward."""

from __future__ import annotations

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.referrals import program as referrals
from fieldrelay.service.referrals import rewards as referral_rewards
from fieldrelay.storage.tables import customers
from tests.service.referrals.support import (
    all_referrals,
    configure,
    enrolled_pat,
    lead,
    referral_settings,
    rewards,
    sam,
    sam_job,
    the_referral,
)
from tests.service.support import apply, at, rows, timeline


@pytest.fixture
def settings() -> Settings:
    """The referral program on, paid milestone, only the referral sequences."""
    return referral_settings()


def _customer_of(runtime: Runtime, first_name: str) -> str:
    found = rows(runtime, customers, customers.c.first_name == first_name, customers.c.merged_into.is_(None))
    assert len(found) == 1
    return str(found[0].id)


def test_a_form_lead_with_a_code_is_attributed_to_the_referrer(runtime: Runtime) -> None:
    pat_id, code = enrolled_pat(runtime)
    apply(runtime, lead(code.lower(), at(0)), now=at(0))

    referral = the_referral(runtime)
    sam_id = _customer_of(runtime, "Sam")
    assert (referral.referred_customer_id, referral.captured_via, referral.status) == (sam_id, "form", "pending")
    assert referral.lead_ref == "sub_1" and referral.flags == []
    assert [a.summary for a in timeline(runtime, sam_id, "referral.captured")] == [
        f"Referred by Pat Doe (code {code}, via form)"
    ]
    assert [a.summary for a in timeline(runtime, pat_id, "referral.captured")] == ["Referred Sam Lee"]


def test_the_same_lead_delivered_twice_records_one_referral(runtime: Runtime) -> None:
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, lead(code, at(0)), now=at(1))
    assert len(all_referrals(runtime)) == 1


def test_an_unknown_code_on_a_form_is_noted_and_the_lead_still_created(runtime: Runtime) -> None:
    enrolled_pat(runtime)
    apply(runtime, lead("ZZZZZZ", at(0)), now=at(0))

    sam_id = _customer_of(runtime, "Sam")
    assert all_referrals(runtime) == []
    assert [a.summary for a in timeline(runtime, sam_id, "referral.unknown_code")] == [
        "referral code 'ZZZZZZ' matches no active referrer"
    ]
    assert len(timeline(runtime, sam_id, "lead.received")) == 1


def test_the_office_types_a_code_for_a_customer(runtime: Runtime) -> None:
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(None, at(0)), now=at(0))
    sam_id = _customer_of(runtime, "Sam")

    with runtime.unit_of_work("default") as ctx:
        made = referrals.attribute(ctx, sam_id, f" {code[:3]}-{code[3:]} ", "csr", by="Dana")

    assert (made.status, made.captured_via) == ("pending", "csr")
    with runtime.unit_of_work("default") as ctx, pytest.raises(referrals.UnknownCode):
        referrals.attribute(ctx, sam_id, "NOPE22", "csr")


def test_an_existing_customer_cannot_be_referred(runtime: Runtime) -> None:
    _, code = enrolled_pat(runtime)
    # Sam already had work done before anyone referred him.
    apply(runtime, sam_job(ev.JobCompleted, at(-300)), now=at(-300))
    apply(runtime, lead(code, at(0)), now=at(0))

    referral = the_referral(runtime)
    assert (referral.status, referral.reason) == ("rejected", "already a customer before the referral (work done)")
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    assert the_referral(runtime).status == "rejected" and rewards(runtime) == []


def test_the_referrer_cannot_refer_themselves(runtime: Runtime) -> None:
    pat_id, code = enrolled_pat(runtime)
    with runtime.unit_of_work("default") as ctx:
        made = referrals.attribute(ctx, pat_id, code, "csr")
    assert (made.status, made.reason) == ("rejected", "the referrer cannot refer themselves")


def test_paid_first_job_qualifies_and_rewards_automatically(runtime: Runtime) -> None:
    pat_id, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.JobBooked, at(60)), now=at(60))
    apply(runtime, sam_job(ev.JobCompleted, at(120)), now=at(120))
    assert the_referral(runtime).status == "pending"

    apply(runtime, sam_job(ev.PaymentCaptured, at(180), amount_cents=45000), now=at(180))

    referral = the_referral(runtime)
    assert (referral.status, referral.collected_cents, referral.milestone_at) == ("rewarded", 45000, at(180))
    (reward,) = rewards(runtime)
    assert (reward.referral_id, reward.amount_cents, reward.method) == (referral.id, 5000, "gift_card")
    sam_id = referral.referred_customer_id
    assert [a.summary for a in timeline(runtime, pat_id, "referral.rewarded")] == [
        "Referral reward issued: $50.00 gift_card for referring Sam Lee"
    ]
    assert [a.summary for a in timeline(runtime, sam_id, "referral.rewarded")] == [
        "Referral reward issued to Pat Doe, who referred this customer"
    ]


def test_paid_with_less_than_the_minimum_collected_does_not_qualify(runtime: Runtime) -> None:
    configure(runtime, min_collected_cents=50000)
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))

    referral = the_referral(runtime)
    assert (referral.status, referral.collected_cents) == ("pending", 45000)
    assert rewards(runtime) == []
    assert [a.summary for a in timeline(runtime, referral.referred_customer_id, "referral.short")] == [
        "Referral not qualified yet: $450.00 collected, $500.00 needed"
    ]


def test_paid_with_enough_collected_qualifies(runtime: Runtime) -> None:
    configure(runtime, min_collected_cents=40000)
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    assert the_referral(runtime).status == "rewarded" and len(rewards(runtime)) == 1


def test_booked_milestone_qualifies_on_booking(runtime: Runtime) -> None:
    configure(runtime, milestone="booked")
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.JobBooked, at(60)), now=at(60))
    referral = the_referral(runtime)
    assert (referral.status, referral.milestone_at, referral.collected_cents) == ("rewarded", at(60), None)


def test_completed_milestone_waits_for_completion(runtime: Runtime) -> None:
    configure(runtime, milestone="completed")
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.JobBooked, at(60)), now=at(60))
    assert the_referral(runtime).status == "pending"
    apply(runtime, sam_job(ev.JobCompleted, at(120)), now=at(120))
    assert the_referral(runtime).status == "rewarded"


def test_only_the_first_job_counts(runtime: Runtime) -> None:
    configure(runtime, milestone="completed")
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.JobBooked, at(60), job_id="job_a"), now=at(60))
    apply(runtime, sam_job(ev.JobBooked, at(70), job_id="job_b"), now=at(70))
    apply(runtime, sam_job(ev.JobCompleted, at(120), job_id="job_b"), now=at(120))
    assert the_referral(runtime).status == "pending"
    apply(runtime, sam_job(ev.JobCompleted, at(130), job_id="job_a"), now=at(130))
    assert the_referral(runtime).status == "rewarded"


def _refund(occurred_at_minutes: float) -> ev.PaymentRefunded:
    return ev.PaymentRefunded(
        source="stripe",
        occurred_at=at(occurred_at_minutes),
        customer=None,
        payment_ref="re_1",
        amount_cents=45000,
        job_ref="job_s1",
        job_source="housecallpro",
    )


def test_a_refund_before_the_reward_disqualifies(runtime: Runtime) -> None:
    configure(runtime, reward_issue="manual")
    pat_id, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    assert the_referral(runtime).status == "qualified"

    apply(runtime, _refund(90), now=at(90))

    referral = the_referral(runtime)
    assert referral.status == "disqualified" and referral.reason.startswith("refund or chargeback before the reward")
    assert rewards(runtime) == []
    assert len(timeline(runtime, pat_id, "referral.disqualified")) == 1
    with runtime.unit_of_work("default") as ctx, pytest.raises(referrals.ReferralError):
        referral_rewards.issue(ctx, referral.id, "Dana")


def test_a_refund_after_the_reward_does_not_undo_it(runtime: Runtime) -> None:
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    apply(runtime, _refund(90), now=at(90))

    referral = the_referral(runtime)
    assert referral.status == "rewarded" and len(rewards(runtime)) == 1
    notes = timeline(runtime, referral.referred_customer_id, "referral.refund_after_reward")
    assert len(notes) == 1 and notes[0].summary.startswith("Referral reward stands")


def test_manual_issue_waits_for_a_person(runtime: Runtime) -> None:
    configure(runtime, reward_issue="manual")
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    assert rewards(runtime) == []

    referral_id = the_referral(runtime).id
    with runtime.unit_of_work("default") as ctx:
        done = referral_rewards.issue(ctx, referral_id, "Dana")
    assert done.status == "rewarded"
    (reward,) = rewards(runtime)
    assert reward.issued_by == "Dana"


def test_the_program_off_ignores_codes_on_leads(runtime: Runtime) -> None:
    configure(runtime, enabled=False)
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0), sam()), now=at(0))
    assert all_referrals(runtime) == []
