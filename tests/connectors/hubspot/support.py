"""A stand-in for HubSpot's API behind ``httpx.MockTransport``, the vendor fixtures, and changes to write."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from fieldrelay.connectors.hubspot.target import HubSpotTarget
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.crm import HubSpotSettings
from fieldrelay.service.crm.targets import CrmChange, CrmContact, CrmDeal, CrmNote

FIXTURES = Path(__file__).parent / "fixtures"
TOKEN = "pat-na1-00000000-0000-0000-0000-000000000000"
START = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)  # nine hours before midnight UTC

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]

PIPELINES = {
    "results": [
        {
            "id": "default",
            "label": "Sales Pipeline",
            "displayOrder": 0,
            "archived": False,
            "stages": [
                {"id": "appointmentscheduled", "label": "Appointment Scheduled", "displayOrder": 0},
                {"id": "1029384", "label": "Estimate sent", "displayOrder": 1},
                {"id": "closedwon", "label": "Closed Won", "displayOrder": 2},
            ],
        },
        {
            "id": "5551212",
            "label": "Service Agreements",
            "displayOrder": 1,
            "archived": False,
            "stages": [{"id": "5551213", "label": "Renewal due", "displayOrder": 0}],
        },
    ]
}
NOTE_CONTACT_LABELS = {"results": [{"category": "HUBSPOT_DEFINED", "typeId": 202, "label": None}]}
NOTE_DEAL_LABELS = {
    "results": [
        {"category": "HUBSPOT_DEFINED", "typeId": 214, "label": None},
        {"category": "USER_DEFINED", "typeId": 37, "label": "Site visit"},
    ]
}


def fixture(name: str) -> Any:
    """A vendor payload from fixtures/, parsed."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def upserted(contact_id: str, **properties: str) -> httpx.Response:
    """A batch upsert answer with one result."""
    result = {"id": contact_id, "new": False, "archived": False, "properties": properties}
    return httpx.Response(200, json={"status": "COMPLETE", "results": [result]})


class FakeHubSpot:
    """Answers each ``(method, path)`` from a queue (the last answer repeats) and keeps every request it saw."""

    def __init__(self, routes: dict[tuple[str, str], list[Answer]] | None = None) -> None:
        self.routes: dict[tuple[str, str], list[Answer]] = dict(routes or {})
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path)
        if key not in self.routes:
            raise AssertionError(f"unexpected HubSpot call {key}")
        queue = self.routes[key]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer

    def calls(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request, in order."""
        return [(r.method, r.url.path) for r in self.requests]

    def bodies(self, method: str, path: str) -> list[Any]:
        """The JSON bodies sent to one route, in order."""
        return [json.loads(r.content) for r in self.requests if (r.method, r.url.path) == (method, path)]


class Sleeps:
    """A ``sleep`` that records each wait and moves the simulated clock on by it."""

    def __init__(self, clock: SimulatedClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


def make_target(
    fake: FakeHubSpot | Callable[[httpx.Request], httpx.Response],
    clock: SimulatedClock | None = None,
    sleep: Callable[[float], None] | None = None,
    **settings: Any,
) -> HubSpotTarget:
    """A target on the stand-in; a sleep that fails the test unless one is given."""

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"unexpected sleep({seconds})")

    return HubSpotTarget(
        HubSpotSettings(**settings),
        TOKEN,
        clock or SimulatedClock(START),
        transport=httpx.MockTransport(fake),
        sleep=sleep or no_sleep,
    )


def change(
    *,
    email: str | None = "dana.whitfield@example.com",
    fields: dict[str, Any] | None = None,
    deal: CrmDeal | None = None,
    note: CrmNote | None = None,
    key: str = "crm.sync:hubspot:evt-0001",
) -> CrmChange:
    """A change about Dana Whitfield, with what a test needs."""
    return CrmChange(
        key=key,
        account_id="acct-1",
        event="estimate.sent",
        occurred_at=START,
        contact=CrmContact(
            fieldrelay_id="cus_7f3a",
            first_name="Dana",
            last_name="Whitfield",
            email=email,
            phone="+15125550143",
            street="4102 Speedway",
            city="Austin",
            state="TX",
            postal_code="78751",
        ),
        fields=fields or {},
        deal=deal,
        note=note,
    )


def estimate_deal(stage: str = "estimate_sent", stage_name: str = "Estimate sent") -> CrmDeal:
    """The customer's open deal at a stage, worth $1,234.50."""
    return CrmDeal(fieldrelay_id="deal_91c2", stage=stage, stage_name=stage_name, is_open=True, value_cents=123450)
