"""Enrolment in the referral program: after a 4-5 rating (not a 3), by hand, idempotent; the invitation and the
thank-you go through the sequences engine, so a customer who texted STOP gets neither."""

from __future__ import annotations

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.domain.referral_rules import ALPHABET, CODE_LENGTH
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.referrals import program as referrals
from tests.conftest import START
from tests.service.referrals.support import all_referrers, enrolled_pat, lead, referral_settings, rewards, sam_job
from tests.service.sequences.support import at, job, library_settings, reply, run_until, texts
from tests.service.support import PAT_E164, apply, only_customer, timeline
from tests.service.support import at as minutes

PROGRAM = """
referrals:
  enabled: true
  enrol_min_rating: 4
  link_base_url: https://rapidrooter.example/r/
"""


@pytest.fixture
def settings() -> Settings:
    """The default library (satisfaction check, referral invite and thanks) with the referral program on."""
    return library_settings(PROGRAM)


def _completed_and_rated(runtime: Runtime, rating: str) -> None:
    apply(runtime, job(ev.JobCompleted, START))
    run_until(runtime, at(0.5))
    apply(runtime, reply(rating, at(1)), now=at(1))
    run_until(runtime, at(1))


@pytest.mark.parametrize("rating", ["4", "5"])
def test_a_high_rating_enrols_a_referrer_and_texts_the_link(runtime: Runtime, rating: str) -> None:
    _completed_and_rated(runtime, rating)

    (referrer,) = all_referrers(runtime)
    assert (referrer.enrolled_via, referrer.status, len(referrer.code)) == ("rating", "active", CODE_LENGTH)
    assert set(referrer.code) <= set(ALPHABET)
    run_until(runtime, at(3))
    invites = [t for t in texts(runtime) if "/r/" in t.body]
    assert len(invites) == 1
    assert f"https://rapidrooter.example/r/{referrer.code}" in invites[0].body
    assert "$50.00" in invites[0].body and invites[0].body.startswith("Hi Pat")


def test_a_rating_of_three_does_not_enrol(runtime: Runtime) -> None:
    _completed_and_rated(runtime, "3")
    run_until(runtime, at(3))
    assert all_referrers(runtime) == []
    assert not [t for t in texts(runtime) if "/r/" in t.body]


def test_enrolling_twice_keeps_one_referrer_and_code(runtime: Runtime) -> None:
    _completed_and_rated(runtime, "5")
    customer_id = only_customer(runtime).id
    with runtime.unit_of_work("default") as ctx:
        again, new = referrals.enrol(ctx, customer_id, "hand", by="Dana")
    (referrer,) = all_referrers(runtime)
    assert (new, again.code) == (False, referrer.code)


class TestStopped:
    """A referrer who texted STOP: enrolled, rewarded, but never texted."""

    @pytest.fixture
    def settings(self) -> Settings:
        """Only the referral sequences."""
        return referral_settings()

    def test_a_stopped_referrer_gets_no_invite_and_no_thanks(self, runtime: Runtime) -> None:
        stop = ev.OptedOut(
            source="twilio", occurred_at=minutes(-700), customer=None, channel="sms", address=PAT_E164, reason="STOP"
        )
        apply(runtime, stop, now=minutes(-700))
        pat_id, code = enrolled_pat(runtime)
        apply(runtime, lead(code, minutes(0)), now=minutes(0))
        apply(runtime, sam_job(ev.PaymentCaptured, minutes(60), amount_cents=45000), now=minutes(60))
        run_until(runtime, minutes(24 * 60))

        assert len(all_referrers(runtime)) == 1 and len(rewards(runtime)) == 1
        to_pat = [t.body for t in texts(runtime) if t.to_address == PAT_E164]
        assert to_pat == []
        assert len(timeline(runtime, pat_id, "referral.rewarded")) == 1

    def test_a_referrer_who_may_be_texted_gets_invite_and_thanks(self, runtime: Runtime) -> None:
        _, code = enrolled_pat(runtime)
        apply(runtime, lead(code, minutes(0)), now=minutes(0))
        apply(runtime, sam_job(ev.PaymentCaptured, minutes(60), amount_cents=45000), now=minutes(60))
        run_until(runtime, minutes(24 * 60))

        to_pat = [t.body for t in texts(runtime) if t.to_address == PAT_E164]
        bodies = [b for b in to_pat if "example.com/r/" in b or "referring" in b]  # her own job's review request aside
        assert len(bodies) == 2
        assert f"https://example.com/r/{code}" in bodies[0]
        assert "thank you for referring Sam Lee" in bodies[1] and "$50.00 reward" in bodies[1]
