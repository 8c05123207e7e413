"""Customers texting back to the satisfaction question, as the Twilio inbound-SMS webhooks the shop would receive.

Pure and deterministic: one ``random.Random`` per seed. The service texts "how did we do? reply 1-5" half an hour
after a job is completed (inside 08:00-21:00 customer time, else the next morning); about 70% of customers answer,
mostly with a plain number, sometimes the way people type ("5!", "4 stars", "five"), always something the service
reads as a rating. The reply comes from the number the service texted: the customer's first phone on file.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]  # the SDK ships no hints

from fieldrelay.domain.contact import normalize_phone
from fieldrelay.sim.people import SHOP_TZ, random_span
from fieldrelay.sim.shop import SimDelivery

TWILIO_PATH = "/webhooks/twilio"
SIGNATURE_HEADER = "X-Twilio-Signature"
SHOP_NUMBER = "+15125550100"  # the shop's Twilio number the question came from (fictional 555-01xx block)
ACCOUNT_SID = "AC" + "0" * 32
ASK_DELAY = timedelta(minutes=30)  # the satisfaction_check sequence asks this long after completion
TEXT_HOURS = (time(8, 0), time(21, 0))  # the service's text_hours: the question waits for the morning
REPLY_SHARE = 0.7
RATING_WEIGHTS = {5: 60, 4: 22, 3: 8, 2: 5, 1: 5}
TYPED_SHARE = 0.1  # replies written the way people type instead of a bare digit
WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


@dataclass(frozen=True)
class SimReply:
    """One text a customer sends back: when Twilio posts it, from which number, what it says, its MessageSid."""

    deliver_at: datetime
    from_phone: str
    body: str
    message_sid: str
    rating: int = 0  # what the body says (the referral plan picks referrers among the 4s and 5s)


def completions(deliveries: Sequence[SimDelivery]) -> list[tuple[datetime, dict[str, Any]]]:
    """Each job's completion time and job object, from its first ``job.completed`` delivery, in completion order."""
    seen: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for d in deliveries:
        if d.redelivery or d.body.get("event") != "job.completed":
            continue
        job = d.body["job"]
        at = datetime.fromisoformat(d.body["event_occurred_at"]).astimezone(UTC)
        if job["id"] not in seen or at < seen[job["id"]][0]:
            seen[job["id"]] = (at, job)
    return sorted(seen.values(), key=lambda item: (item[0], item[1]["id"]))


def texted_phone(job: dict[str, Any]) -> str | None:
    """The E.164 number the service texts for the job's customer: their first phone on file (mobile, then home)."""
    customer = job.get("customer") or {}
    for key in ("mobile_number", "home_number", "work_number"):
        phone = normalize_phone(customer.get(key))
        if phone is not None:
            return phone
    return None


def asked_at(completed_at: datetime) -> datetime:
    """When the question goes out: half an hour after completion, or 08:00 the next morning if that is at night."""
    due = completed_at + ASK_DELAY
    local = due.astimezone(SHOP_TZ)
    opens, closes = TEXT_HOURS
    if opens <= local.time() < closes:
        return due
    day = local.date() + timedelta(days=1 if local.time() >= closes else 0)
    return datetime.combine(day, opens, SHOP_TZ).astimezone(UTC)


def _body(rng: random.Random, rating: int) -> str:
    """The reply text for ``rating``: usually the bare digit, sometimes typed like a person would."""
    if rng.random() >= TYPED_SHARE:
        return str(rating)
    return rng.choice((f"{rating}!", f"{rating} stars" if rating > 1 else "1 star", WORDS[rating], f"{rating}/5"))


def build_replies(deliveries: list[SimDelivery], seed: int = 7) -> list[SimReply]:
    """Return the customers' answers to the satisfaction question for the week's completed jobs, by deliver_at."""
    rng = random.Random(f"fieldrelay-replies-{seed}")
    ratings, weights = list(RATING_WEIGHTS), list(RATING_WEIGHTS.values())
    replies: list[SimReply] = []
    for completed_at, job in completions(deliveries):
        if rng.random() >= REPLY_SHARE:
            continue
        phone = texted_phone(job)
        if phone is None:
            continue
        asked = asked_at(completed_at)
        if asked == completed_at + ASK_DELAY:
            at = completed_at + random_span(rng, 40 * 60, 150 * 60)
        else:
            at = asked + random_span(rng, 20 * 60, 90 * 60)
        rating = rng.choices(ratings, weights=weights)[0]
        sid = f"SM{rng.getrandbits(128):032x}"
        replies.append(SimReply(at, phone, _body(rng, rating), sid, rating))
    return sorted(replies, key=lambda r: r.deliver_at)


def reply_params(reply: SimReply) -> dict[str, str]:
    """The form parameters of Twilio's inbound-SMS webhook for ``reply``."""
    return {
        "ToCountry": "US",
        "ToState": "TX",
        "SmsMessageSid": reply.message_sid,
        "NumMedia": "0",
        "ToCity": "AUSTIN",
        "FromZip": "",
        "SmsSid": reply.message_sid,
        "FromState": "TX",
        "SmsStatus": "received",
        "FromCity": "AUSTIN",
        "Body": reply.body,
        "FromCountry": "US",
        "To": SHOP_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": reply.message_sid,
        "AccountSid": ACCOUNT_SID,
        "From": reply.from_phone,
        "ApiVersion": "2010-04-01",
    }


def reply_request(token: str, url: str, reply: SimReply) -> tuple[bytes, dict[str, str]]:
    """Return the raw body and headers Twilio would post to ``url``, signed with the account's auth token."""
    params = reply_params(reply)
    return urlencode(params).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "TwilioProxy/1.1",
        SIGNATURE_HEADER: RequestValidator(token).compute_signature(url, params),
    }
