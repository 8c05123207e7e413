"""Realistic Housecall Pro traffic for bench/ingest.py: distinct homeowners with common names, distinct streets.

A shop's customers share first and last names (the 50 x 50 most common in sim/people.py), live on distinct street
addresses spread over the ZIP codes of a metro area, and one job in five is for a customer the shop already knows.
Each job is booked, completed and paid; the three events of a job are spread over the run (a sliding window), so
the mirror grows while the traffic flows, as in a shop's day.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fieldrelay.sim.people import AUSTIN_ZIPS, FIRST_NAMES, LAST_NAMES, STREETS

# Thirty Austin ZIP codes and a dozen of the metro area's suburbs: dozens of ZIP codes, each with many streets.
ZIPS = (*AUSTIN_ZIPS, "78613", "78626", "78628", "78634", "78641", "78660", "78664", "78665", "78681", "78610", "78620")
JOB_EVENTS = ("job.created", "job.completed", "job.paid")
_WORK_STATUS = {"job.created": "scheduled", "job.completed": "complete unrated", "job.paid": "complete rated"}
_SERVICES = (("Drain cleaning", "Kitchen drain clog"), ("AC repair", "AC not cooling"), ("Furnace tune-up", "Tune-up"))


@dataclass(frozen=True)
class Homeowner:
    """One customer as the field tool knows them."""

    index: int

    @property
    def id(self) -> str:
        return f"cus_b{self.index}"

    def payload(self, with_address: bool) -> dict[str, Any]:
        """The ``customer`` object of a delivery (a customer event carries the address in it)."""
        i = self.index
        rng = random.Random(i)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        body: dict[str, Any] = {
            "id": self.id,
            "first_name": first,
            "last_name": last,
            # Six in ten give an e-mail address; every customer has a distinct, possible US mobile number.
            "email": f"{first}.{last}.{i}@example.com".lower().replace("'", "") if rng.random() < 0.6 else None,
            "mobile_number": f"(512) {200 + (i // 10_000) % 800:03d}-{i % 10_000:04d}",
        }
        if with_address:
            body["addresses"] = [self.address()]
        return body

    def address(self) -> dict[str, str]:
        """A street address no other customer of the run has (house number x street), in one of ``ZIPS``."""
        i = self.index
        number = 100 + (i // len(STREETS)) % 9_900
        return {"street": f"{number} {STREETS[i % len(STREETS)]}", "city": "Austin", "state": "TX", "zip": _zip(i)}


def _zip(i: int) -> str:
    return ZIPS[(i * 7919) % len(ZIPS)]


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def customer_created(owner: Homeowner, at: datetime) -> bytes:
    """A ``customer.created`` delivery body (how the preload fills the mirror)."""
    envelope = {
        "event": "customer.created",
        "event_occurred_at": _iso(at),
        "company_id": "co_bench",
        "customer": owner.payload(with_address=True),
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def job_event(event: str, job_id: str, owner: Homeowner, at: datetime) -> bytes:
    """A job event body for ``owner``."""
    service, description = _SERVICES[owner.index % len(_SERVICES)]
    envelope = {
        "event": event,
        "event_occurred_at": _iso(at),
        "company_id": "co_bench",
        "job": {
            "id": job_id,
            "description": description,
            "work_status": _WORK_STATUS[event],
            "customer": owner.payload(with_address=False),
            "address": owner.address(),
            "total_amount": 45_000,
            "outstanding_balance": 0 if event == "job.paid" else 45_000,
            "assigned_employees": [{"id": "pro_1", "first_name": "Ray", "last_name": "Ortiz"}],
            "job_fields": {"job_type": {"name": service}},
        },
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def jobs(count: int, first_new: int, tag: str, seed: int = 17) -> list[tuple[str, Homeowner]]:
    """``count`` jobs (id, customer): one in five for a customer seen before (preloaded or earlier in the run), the
    others for new customers numbered from ``first_new``."""
    rng = random.Random(seed)
    out: list[tuple[str, Homeowner]] = []
    fresh = first_new
    for j in range(count):
        if fresh > 0 and rng.random() < 0.2:
            owner = Homeowner(rng.randrange(fresh))
        else:
            owner, fresh = Homeowner(fresh), fresh + 1
        out.append((f"job_{tag}_{j}", owner))
    return out


def job_stream(work: list[tuple[str, Homeowner]], base: datetime, window: int = 50) -> Iterator[tuple[str, bytes]]:
    """(event, body) for every job: its booking, its completion ``window`` bookings later, its payment after that.

    The events happened minutes before ``base`` + a few seconds each, so the review requests they plan fall due
    after the run and none fires during it.
    """
    total = len(work)
    for tick in range(total + 2 * window):
        for step, event in enumerate(JOB_EVENTS):
            j = tick - step * window
            if 0 <= j < total:
                job_id, owner = work[j]
                yield event, job_event(event, job_id, owner, base + timedelta(seconds=step * 60 + j % 60))
