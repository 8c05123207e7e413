"""Tests of the customers' text replies to the satisfaction question (pure) and of posting them, signed, to Twilio."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from fieldrelay.connectors.twilio.inbound import TwilioInbound
from fieldrelay.domain.contact import normalize_phone
from fieldrelay.domain.ratings import parse_rating
from fieldrelay.service.ports import WebhookRequest
from fieldrelay.sim.demo import DEMO_START
from fieldrelay.sim.driver import drive
from fieldrelay.sim.people import SHOP_TZ, iso
from fieldrelay.sim.replies import ACCOUNT_SID, SHOP_NUMBER, SimReply, build_replies, completions, reply_request
from fieldrelay.sim.shop import SimDelivery, build_week

TOKEN = "twilio-auth-token"
BASE_URL = "http://fieldrelay.test"
# Twilio's inbound-SMS parameter names (https://www.twilio.com/docs/messaging/guides/webhook-request), no media.
PARAMS = {
    "MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "MessagingServiceSid", "From", "To", "Body", "NumMedia",
    "NumSegments", "FromCity", "FromState", "FromZip", "FromCountry", "ToCity", "ToState", "ToZip", "ToCountry",
    "OptOutType", "ApiVersion", "SmsStatus",
}  # fmt: skip


@pytest.fixture(scope="module")
def week() -> list[SimDelivery]:
    """The demo's week, default seed."""
    return build_week(DEMO_START, seed=7)


@pytest.fixture(scope="module")
def replies(week: list[SimDelivery]) -> list[SimReply]:
    """The demo's replies, default seed."""
    return build_replies(week, seed=7)


def completed_jobs(week: list[SimDelivery]) -> dict[str, tuple[datetime, set[str]]]:
    """Each completed job's completion time and the E.164 phones of its customer."""
    found: dict[str, tuple[datetime, set[str]]] = {}
    for at, job in completions(week):
        raw = (job["customer"].get("mobile_number"), job["customer"].get("home_number"))
        found[job["id"]] = (at, {p for p in (normalize_phone(r) for r in raw) if p})
    return found


def night_job(n: int, completed_at: datetime) -> SimDelivery:
    """A `job.completed` delivery of a job finished late in the evening."""
    job = {"id": f"job_night_{n}", "customer": {"mobile_number": f"(512) 555-01{n:02d}", "home_number": None}}
    body = {"event": "job.completed", "event_occurred_at": iso(completed_at), "company_id": "co", "job": job}
    return SimDelivery(completed_at + timedelta(seconds=2), body)


def test_deterministic_for_a_seed(week: list[SimDelivery], replies: list[SimReply]) -> None:
    assert build_replies(week, seed=7) == replies
    assert build_replies(week, seed=8) != replies
    assert [r.deliver_at for r in replies] == sorted(r.deliver_at for r in replies)
    assert len({r.message_sid for r in replies}) == len(replies)
    assert all(r.message_sid.startswith("SM") and len(r.message_sid) == 34 for r in replies)
    int(replies[0].message_sid[2:], 16)


def test_most_customers_of_completed_jobs_reply(week: list[SimDelivery], replies: list[SimReply]) -> None:
    jobs = completed_jobs(week)
    assert 0.5 <= len(replies) / len(jobs) <= 0.9


def test_each_reply_comes_from_a_customer_of_a_completed_job_after_the_question(
    week: list[SimDelivery], replies: list[SimReply]
) -> None:
    jobs = completed_jobs(week)
    for reply in replies:
        assert reply.from_phone.startswith("+1") and normalize_phone(reply.from_phone) == reply.from_phone
        asked = [at for at, phones in jobs.values() if reply.from_phone in phones]
        assert asked, reply
        assert any(at + timedelta(minutes=30) < reply.deliver_at <= at + timedelta(hours=72) for at in asked), reply


def test_redeliveries_of_a_completion_do_not_add_replies(week: list[SimDelivery], replies: list[SimReply]) -> None:
    doubled = week + [SimDelivery(d.deliver_at + timedelta(minutes=5), d.body, redelivery=True) for d in week]
    assert build_replies(doubled, seed=7) == replies


def test_every_reply_is_read_as_a_rating_and_the_mix_has_both_ends(replies: list[SimReply]) -> None:
    ratings = [parse_rating(r.body) for r in replies]
    assert None not in ratings
    assert any(r is not None and r <= 3 for r in ratings)
    assert any(r is not None and r >= 4 for r in ratings)
    assert ratings.count(5) > len(ratings) / 3


def test_some_replies_are_typed_like_people_type() -> None:
    week = build_week(DEMO_START, seed=11, jobs_per_week=200)
    bodies = [r.body for r in build_replies(week, seed=11)]
    assert any(not b.isdigit() for b in bodies)
    assert all(parse_rating(b) is not None for b in bodies)


def test_night_completions_are_answered_the_next_morning() -> None:
    evening = datetime.combine(DEMO_START.astimezone(SHOP_TZ).date(), time(20, 45), SHOP_TZ).astimezone(UTC)
    deliveries = [night_job(n, evening + timedelta(minutes=n)) for n in range(30)]
    replies = build_replies(deliveries, seed=7)
    assert len(replies) >= 10
    morning = datetime.combine(evening.astimezone(SHOP_TZ).date() + timedelta(days=1), time(8, 0), SHOP_TZ)
    for reply in replies:
        assert morning + timedelta(minutes=20) <= reply.deliver_at <= morning + timedelta(minutes=90)


def test_a_reply_is_twilios_form_post_signed_for_the_url(replies: list[SimReply]) -> None:
    url = f"{BASE_URL}/webhooks/twilio"
    body, headers = reply_request(TOKEN, url, replies[0])
    params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    assert set(params) <= PARAMS and {"MessageSid", "AccountSid", "From", "To", "Body"} <= set(params)
    assert (params["From"], params["To"], params["AccountSid"]) == (replies[0].from_phone, SHOP_NUMBER, ACCOUNT_SID)
    assert params["MessageSid"] == params["SmsSid"] == replies[0].message_sid
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    request = WebhookRequest(headers={k.lower(): v for k, v in headers.items()}, body=body, url=url)
    assert TwilioInbound(TOKEN).verify(request, DEMO_START) is None
    assert TwilioInbound("another-token").verify(request, DEMO_START) == "bad signature"


def test_the_driver_posts_each_reply_signed_in_its_step(replies: list[SimReply]) -> None:
    seen: list[httpx.Request] = []
    clock = [DEMO_START]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/clock/advance":
            seconds: Any = json.loads(request.content)["seconds"]
            clock[0] += timedelta(seconds=seconds)
            return httpx.Response(200)
        assert request.url.path == "/webhooks/twilio"
        headers = {k.lower(): v for k, v in request.headers.items()}
        webhook = WebhookRequest(headers=headers, body=request.content, url=str(request.url))
        assert TwilioInbound(TOKEN).verify(webhook, clock[0]) is None
        sid = dict(parse_qsl(request.content.decode()))["MessageSid"]
        due = next(r.deliver_at for r in replies if r.message_sid == sid)
        assert clock[0] <= due < clock[0] + timedelta(seconds=60)
        seen.append(request)
        return httpx.Response(202)

    end = DEMO_START + timedelta(days=7)
    run = partial(drive, BASE_URL, "t", "s", [], DEMO_START, end, transport=httpx.MockTransport(handle), progress=False)
    result = run(replies=replies, twilio_token=TOKEN)
    assert result.replies == result.sent == len(seen) == len(replies) and result.webhooks == 0
    assert result.accepted == len(replies) and result.refused == 0
    with pytest.raises(ValueError, match="Twilio"):
        run(replies=replies[:1])
