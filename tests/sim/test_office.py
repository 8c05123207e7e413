"""Tests of the simulated office against a fake JSON API: who calls whom, when, and with which outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from fieldrelay.service.tasks.outcomes import family_of
from fieldrelay.sim.office import CSR, SALES, Office, next_working, working
from fieldrelay.sim.people import SHOP_TZ

AUTH = {"Authorization": "Bearer office-test"}
MONDAY_9 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 09:00 in Chicago
STEP = timedelta(minutes=1)


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class FakeApi:
    """The endpoints the office uses, over a few tasks and deals; every request is kept with the clock's time."""

    tasks: list[dict[str, Any]] = field(default_factory=list)
    stages: dict[str, str] = field(default_factory=dict)  # deal id → stage
    now: datetime = MONDAY_9
    calls: list[tuple[datetime, str, str, dict[str, Any]]] = field(default_factory=list)

    def task(self, kind: str, due: datetime, deal: str | None = None, name: str = "Pat Doe") -> dict[str, Any]:
        item = {
            "id": f"task-{len(self.tasks)}",
            "kind": kind,
            "customer_id": f"cus-{name}",
            "customer_name": name,
            "deal_id": deal,
            "due_at": z(due),
            "status": "open",
        }
        self.tasks.append(item)
        if deal is not None:
            self.stages.setdefault(deal, "new_lead")
        return item

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == AUTH["Authorization"]
        path, body = request.url.path, json.loads(request.content) if request.content else {}
        self.calls.append((self.now, request.method, path, body))
        if path == "/api/tasks":
            return httpx.Response(200, json={"items": [t for t in self.tasks if t["status"] == "open"]})
        if path.startswith("/api/customers/"):
            deals = [{"id": d, "stage": s} for d, s in self.stages.items()]
            record = {"address": {"postal_code": None}, "phones": ["+15125550142"], "deals": deals}
            return httpx.Response(200, json={**record, "fields": {"interested_in": {"value": "Drain cleaning"}}})
        if path.endswith("/followups"):
            deal = path.split("/")[3]
            for t in self.tasks:
                if t["deal_id"] == deal and t["kind"] == "sop.first_response":
                    t["status"] = "done"
            return httpx.Response(200, json={})
        if path.endswith("/qualify"):
            self.stages[path.split("/")[3]] = "qualified"
            return httpx.Response(200, json={})
        task = next(t for t in self.tasks if t["id"] == path.split("/")[3])
        if task["status"] != "open":
            return httpx.Response(409, json={"detail": "already done"})
        task["status"] = "done"
        return httpx.Response(200, json={})

    def run(self, office: Office, until: datetime) -> None:
        """Step the clock a minute at a time, telling the office, as the driver does."""
        with httpx.Client(base_url="http://fieldrelay.test", transport=httpx.MockTransport(self)) as client:
            while self.now < until:
                office.work(client, AUTH, self.now, self.now + STEP)
                self.now += STEP

    def posts(self, suffix: str) -> list[tuple[datetime, dict[str, Any]]]:
        return [(at, body) for at, method, path, body in self.calls if method == "POST" and path.endswith(suffix)]


def test_a_lead_in_business_hours_is_called_within_minutes_and_qualified_on_the_call() -> None:
    api = FakeApi()
    lead_at = MONDAY_9 + timedelta(hours=1)
    api.now = lead_at
    api.task("sop.first_response", lead_at + timedelta(minutes=5), deal="deal-1")
    api.run(Office(seed=7, directory={"5125550142": "78704"}), lead_at + timedelta(hours=3))

    calls = api.posts("/followups")
    assert calls and calls[0][0] - lead_at <= timedelta(minutes=5) and calls[0][1]["by"] == CSR
    (qualified,) = api.posts("/qualify")
    assert qualified[1]["zip"] == "78704" and qualified[1]["job_type"] == "Drain cleaning" and qualified[1]["when"]
    assert api.stages["deal-1"] == "qualified"


def test_a_lead_at_night_is_called_when_the_office_opens_and_nothing_happens_before() -> None:
    api = FakeApi()
    night = MONDAY_9 + timedelta(hours=11)  # 20:00
    api.now = night
    api.task("sop.first_response", next_working(night), deal="deal-1")
    api.run(Office(seed=7, directory={"5125550142": "78704"}), night + timedelta(hours=14))

    opening = next_working(night)
    assert opening.astimezone(SHOP_TZ).hour == 8
    first = api.posts("/followups")[0][0]
    assert opening <= first <= opening + timedelta(minutes=5)
    assert all(working(at) for at, method, _, _ in api.calls if method == "POST")


def test_an_estimate_follow_up_is_called_before_it_falls_due_with_an_outcome_of_its_kind() -> None:
    api = FakeApi()
    due = MONDAY_9 + timedelta(hours=8)  # 17:00, the same-day follow-up
    task = api.task("sop.followup.1", due, deal="deal-1")
    api.stages["deal-1"] = "estimate_sent"
    api.run(Office(seed=7), due + timedelta(hours=1))

    ((at, body),) = api.posts("/complete")
    assert due - timedelta(hours=3) <= at < due and body["by"] == SALES and body["note"]
    assert body["outcome"] in family_of(task["kind"]).names


def test_a_follow_up_of_an_estimate_already_answered_says_so() -> None:
    api = FakeApi()
    api.task("sop.followup.2", MONDAY_9 + timedelta(hours=4), deal="deal-1")
    api.stages["deal-1"] = "work_approved"
    api.run(Office(seed=7), MONDAY_9 + timedelta(hours=5))

    ((_, body),) = api.posts("/complete")
    assert body["outcome"] == "reached" and "approved" in body["note"]


def test_every_task_is_worked_with_an_allowed_outcome_and_a_closed_one_is_left_alone() -> None:
    api = FakeApi()
    kinds = ("service_recovery.call", "maintenance_plan_offer.personal_call", "rebooking.call", "my_sequence.visit")
    for n, kind in enumerate(kinds):
        api.task(kind, MONDAY_9 + timedelta(hours=6), name=f"Customer {n}")
    closed = api.task("service_recovery.call", MONDAY_9 + timedelta(hours=6), name="Someone Else")
    closed["status"] = "done"
    office = Office(seed=7)
    api.run(office, MONDAY_9 + timedelta(hours=8))

    worked = {path.split("/")[3]: body for _, _, path, body in api.calls if path.endswith("/complete")}
    assert set(worked) == {t["id"] for t in api.tasks[:-1]}
    for task in api.tasks[:-1]:
        assert worked[task["id"]]["outcome"] in family_of(task["kind"]).names
    assert sum(office.done.values()) == len(kinds)


def test_the_same_seed_works_the_same_queue_the_same_way() -> None:
    def day(seed: int) -> list[tuple[datetime, str, str, dict[str, Any]]]:
        api = FakeApi()
        for n in range(6):
            api.task("sop.first_response", MONDAY_9 + timedelta(minutes=5 + 40 * n), deal=f"deal-{n}", name=f"Lead {n}")
            api.task("service_recovery.call", MONDAY_9 + timedelta(hours=4), name=f"Rated {n}")
        api.run(Office(seed=seed, directory={"5125550142": "78704"}), MONDAY_9 + timedelta(hours=9))
        return [call for call in api.calls if call[1] == "POST"]

    first = day(7)
    assert first == day(7)
    assert first != day(8)
