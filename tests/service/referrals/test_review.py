"""Referral fraud rules send a referral to review instead of a reward; a person approves (reward) or rejects."""

from __future__ import annotations

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.referrals import rewards as referral_rewards
from tests.service.referrals.support import (
    all_referrals,
    configure,
    enrolled_pat,
    lead,
    lou,
    referral_settings,
    rewards,
    sam,
    sam_job,
    the_referral,
)
from tests.service.support import apply, at, timeline


@pytest.fixture
def settings() -> Settings:
    """The referral program on, paid milestone, only the referral sequences."""
    return referral_settings()


def _referred_and_paid(runtime: Runtime, person: ev.CustomerSnapshot) -> None:
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0), person), now=at(0))
    job = ev.PaymentCaptured(
        source="housecallpro",
        occurred_at=at(24 * 60 * 3),
        customer=person,
        job=ev.JobSnapshot(external_id="job_s1", service_type="Drain cleaning", total_cents=45000),
        amount_cents=45000,
    )
    apply(runtime, job, now=at(24 * 60 * 3))


@pytest.mark.parametrize(
    ("person", "why"),
    [
        (sam(first_name="Jo", phones=("(512) 555-0142",)), "same phone as the referrer"),
        (sam(first_name="Jo", emails=("PAT.DOE@example.com",)), "same email as the referrer"),
        (
            sam(address=ev.Address(street="12 Oak St.", city="Austin", state="TX", postal_code="78701")),
            "same address as the referrer",
        ),
        (
            sam(first_name="Jo", last_name="Doe", address=ev.Address(street="9 Pine Rd", postal_code="78701")),
            "same household (last name and postal code) as the referrer",
        ),
    ],
    ids=["phone", "email", "address", "household"],
)
def test_a_self_referral_goes_to_review_not_reward(runtime: Runtime, person: ev.CustomerSnapshot, why: str) -> None:
    _referred_and_paid(runtime, person)

    referral = the_referral(runtime)
    assert referral.status == "review" and referral.flags == ["self_referral"]
    assert why in referral.reason
    assert rewards(runtime) == []
    (note,) = timeline(runtime, referral.referred_customer_id, "referral.review")
    assert note.summary == "Referral reached paid; waits for review: looks like a self-referral"


def test_more_referrals_than_allowed_in_the_window_go_to_review(runtime: Runtime) -> None:
    configure(runtime, max_referrals=1, milestone="booked")
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    other = lou()
    apply(runtime, lead(code, at(10), other, ref="sub_2"), now=at(10))

    first, second = sorted(all_referrals(runtime), key=lambda r: r.captured_at)
    assert first.flags == [] and second.flags == ["too_many"]
    assert second.reason == "2 referrals in 30 days (limit 1)"
    lou_job = ev.JobBooked(
        source="housecallpro", occurred_at=at(3000), customer=other, job=ev.JobSnapshot(external_id="job_l1")
    )
    apply(runtime, lou_job, now=at(3000))
    assert [r.status for r in sorted(all_referrals(runtime), key=lambda r: r.captured_at)] == ["pending", "review"]


def test_a_milestone_reached_too_fast_goes_to_review(runtime: Runtime) -> None:
    configure(runtime, min_days_to_milestone=2)
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))

    referral = the_referral(runtime)
    assert (referral.status, referral.flags) == ("review", ["too_fast"])
    assert rewards(runtime) == []


def test_not_too_fast_after_the_minimum_days(runtime: Runtime) -> None:
    configure(runtime, min_days_to_milestone=2)
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(3 * 24 * 60), amount_cents=45000), now=at(3 * 24 * 60))
    assert the_referral(runtime).status == "rewarded"


def test_approving_a_flagged_referral_rewards_it(runtime: Runtime) -> None:
    _referred_and_paid(runtime, sam(first_name="Jo", phones=("(512) 555-0142",)))
    referral_id = the_referral(runtime).id

    with runtime.unit_of_work("default") as ctx:
        done = referral_rewards.approve(ctx, referral_id, "Dana", "her sister, different household")

    assert done.status == "rewarded"
    referral = the_referral(runtime)
    assert (referral.decided_by, referral.reason) == ("Dana", "her sister, different household")
    (reward,) = rewards(runtime)
    assert (reward.amount_cents, reward.issued_by) == (5000, "Dana")


def test_rejecting_a_flagged_referral_means_no_reward(runtime: Runtime) -> None:
    _referred_and_paid(runtime, sam(first_name="Jo", phones=("(512) 555-0142",)))
    referral_id = the_referral(runtime).id

    with runtime.unit_of_work("default") as ctx:
        done = referral_rewards.reject(ctx, referral_id, "Dana", "same person")

    assert (done.status, done.reason) == ("rejected", "same person")
    assert rewards(runtime) == []
    with runtime.unit_of_work("default") as ctx, pytest.raises(referral_rewards.ReferralError):
        referral_rewards.approve(ctx, referral_id, "Dana")


def test_require_approval_sends_every_qualified_referral_to_review(runtime: Runtime) -> None:
    configure(runtime, require_approval=True)
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    referral = the_referral(runtime)
    assert (referral.status, referral.flags, referral.reason) == ("review", [], None)
