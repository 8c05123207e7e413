"""Referral rules with no I/O: short codes people can read aloud, and the fraud checks given the facts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# No 0/O or 1/I: a code read over the phone or copied from a card cannot be mistaken for another.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 6

SELF_REFERRAL = "self_referral"
TOO_MANY = "too_many"
TOO_FAST = "too_fast"


def new_code(pick: Callable[[str], str] = secrets.choice, length: int = CODE_LENGTH) -> str:
    """A random code from the unambiguous alphabet (``pick`` chooses one character; tests pass their own)."""
    return "".join(pick(ALPHABET) for _ in range(length))


def normalize_code(text: str) -> str:
    """A code as typed or read from a link (``r/abc234``, `` abc-234 ``) in its stored form."""
    text = text.strip().rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


@dataclass(frozen=True)
class Party:
    """What the fraud checks compare about a person: contact points, last name and address."""

    phones: Sequence[str]
    emails: Sequence[str]
    last_name: str | None
    street: str | None
    postal_code: str | None


def _street(text: str | None) -> str:
    return re.sub(r"[^0-9a-z]+", " ", (text or "").lower()).strip()


def self_referral_reasons(referrer: Party, referred: Party) -> list[str]:
    """Why the referred person looks like the referrer or their household, in words; empty when they do not.

    A household is the same street address, or the same last name at the same postal code.
    """
    reasons = []
    if set(referrer.phones) & set(referred.phones):
        reasons.append("same phone as the referrer")
    if {e.lower() for e in referrer.emails} & {e.lower() for e in referred.emails}:
        reasons.append("same email as the referrer")
    same_zip = not (referrer.postal_code and referred.postal_code) or referrer.postal_code == referred.postal_code
    if _street(referrer.street) and _street(referrer.street) == _street(referred.street) and same_zip:
        reasons.append("same address as the referrer")
    elif (
        referrer.last_name
        and referrer.postal_code
        and (referrer.last_name.strip().lower(), referrer.postal_code)
        == ((referred.last_name or "").strip().lower(), referred.postal_code)
    ):
        reasons.append("same household (last name and postal code) as the referrer")
    return reasons


def too_many(referrals_in_window: int, max_referrals: int) -> bool:
    """True when a referrer's referrals in the window (this one included) exceed the allowed number."""
    return referrals_in_window > max_referrals


def too_fast(captured_at: datetime, milestone_at: datetime, min_days: float) -> bool:
    """True when the milestone came sooner after the capture than a real job normally can."""
    return milestone_at - captured_at < timedelta(days=min_days)


MILESTONE_ORDER = {"booked": 0, "completed": 1, "paid": 2}
# Job statuses (domain/lifecycle.py) by the milestone they reach.
_STATUS_REACHES = {
    "booked": "booked",
    "rescheduled": "booked",
    "dispatched": "booked",
    "arrived": "booked",
    "completed": "completed",
    "invoiced": "completed",
    "paid": "paid",
}


def reaches(job_status: str, milestone: str) -> bool:
    """True when a job in ``job_status`` has reached ``milestone`` (booked < completed < paid)."""
    reached = _STATUS_REACHES.get(job_status)
    return reached is not None and MILESTONE_ORDER[reached] >= MILESTONE_ORDER[milestone]
