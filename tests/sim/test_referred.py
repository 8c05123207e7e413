"""Tests of the referred friends of the simulated week (pure) and of filling in the referrer's code when posting."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from fieldrelay.domain.contact import normalize_phone
from fieldrelay.sim.demo import DEMO_START
from fieldrelay.sim.leads import customers_of, digits
from fieldrelay.sim.people import SHOP_TZ
from fieldrelay.sim.referred import REFERRED, Referral, with_code
from fieldrelay.sim.week import WeekPlan, plan_week

END = DEMO_START + timedelta(days=7)


@pytest.fixture(scope="module")
def plan() -> WeekPlan:
    """The demo's week, default seed."""
    return plan_week(DEMO_START)


@pytest.fixture(scope="module")
def referrals(plan: WeekPlan) -> list[Referral]:
    return plan.referrals


def test_a_few_friends_write_in_with_a_referral_a_happy_customer_can_give(plan: WeekPlan) -> None:
    assert 2 <= len(plan.referrals) <= 3
    happy = {r.from_phone: r for r in plan.replies if r.rating >= 4}
    for referral in plan.referrals:
        submission = referral.submission
        assert submission.kind == REFERRED and submission.referred_by in happy
        assert "referral_code" not in submission.fields  # the service hands out codes: filled in when posted
        # The referrer has answered (and been enrolled) hours before their friend writes in.
        assert happy[submission.referred_by].deliver_at + timedelta(hours=3) <= submission.deliver_at
        assert submission in plan.leads
    assert len({r.referrer.id for r in plan.referrals}) == len(plan.referrals)


def test_the_friends_are_new_people(plan: WeekPlan) -> None:
    shop = [d for d in plan.deliveries if not any(d in r.deliveries for r in plan.referrals)]
    known = {digits(n) for _, c in customers_of(shop) for n in (c.mobile_number, c.home_number) if n}
    others = {digits(s.fields["phone"]) for s in plan.leads if s.kind != REFERRED and s.fields.get("phone")}
    for referral in plan.referrals:
        phone = digits(referral.submission.fields["phone"])
        assert phone not in known | others
        assert referral.submission.fields["name"].split()[-1] != referral.referrer.last_name  # not a household


def test_each_friend_is_booked_done_and_paid_in_the_week_as_the_same_person(plan: WeekPlan) -> None:
    for referral in plan.referrals:
        events = [d.body["event"] for d in referral.deliveries]
        assert events == [
            "customer.created",
            "job.created",
            "job.scheduled",
            "job.on_my_way",
            "job.started",
            "job.completed",
            "job.paid",
        ]
        customer = referral.deliveries[0].body["customer"]
        fields = referral.submission.fields
        assert normalize_phone(customer["mobile_number"]) == normalize_phone(fields["phone"])
        assert (
            customer["email"] == fields["email"]
            and f"{customer['first_name']} {customer['last_name']}" == fields["name"]
        )
        booked, paid = referral.deliveries[1].deliver_at, referral.deliveries[-1].deliver_at
        assert referral.submission.deliver_at < booked < paid < END - timedelta(minutes=30)
        for d in referral.deliveries[3:6]:
            local = d.deliver_at.astimezone(SHOP_TZ)
            assert local.weekday() < 5 and 8 <= local.hour < 17
        assert all(d in plan.deliveries for d in referral.deliveries)


def test_the_same_seed_plans_the_same_friends() -> None:
    first, again, other = plan_week(DEMO_START), plan_week(DEMO_START), plan_week(DEMO_START, seed=8)
    assert [r.submission for r in first.referrals] == [r.submission for r in again.referrals]
    assert [r.deliveries for r in first.referrals] == [r.deliveries for r in again.referrals]
    assert [r.submission for r in first.referrals] != [r.submission for r in other.referrals]


def test_the_code_is_the_referrers_own_from_the_service(referrals: list[Referral]) -> None:
    submission = referrals[0].submission
    seen: list[tuple[str, str]] = []

    def service(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.url.path == "/api/customers":
            assert request.url.params["phone"] == submission.referred_by
            return httpx.Response(200, json={"items": [{"id": "cus-referrer"}]})
        assert json.loads(request.content)["customer_id"] == "cus-referrer"
        return httpx.Response(201, json={"code": "K7Q2MX", "created": False})

    with httpx.Client(base_url="http://fieldrelay.test", transport=httpx.MockTransport(service)) as client:
        filled = with_code(client, {}, submission)
    assert filled.fields["referral_code"] == "K7Q2MX"
    assert {k: v for k, v in filled.fields.items() if k != "referral_code"} == submission.fields
    assert seen == [("GET", "/api/customers"), ("POST", "/api/referrers")]


def test_an_unknown_referrer_leaves_the_form_without_a_code(referrals: list[Referral]) -> None:
    def service(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": []})

    with httpx.Client(base_url="http://fieldrelay.test", transport=httpx.MockTransport(service)) as client:
        assert with_code(client, {}, referrals[0].submission) == referrals[0].submission
