"""Tests of the simulated shop week (pure) and of the driver against a recording mock transport."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from fieldrelay.connectors.housecallpro.signature import signature_matches
from fieldrelay.sim.driver import drive
from fieldrelay.sim.people import SHOP_TZ
from fieldrelay.sim.shop import SimDelivery, build_week

START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)  # Monday 07:00 in Chicago
SECRET = "hcp-test-secret"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
LIFECYCLE = ["job.created", "job.scheduled", "job.on_my_way", "job.started", "job.completed", "job.paid"]


def occurred(delivery: SimDelivery) -> datetime:
    """Return a delivery's event_occurred_at as a datetime."""
    return datetime.fromisoformat(delivery.body["event_occurred_at"])


def job_id(delivery: SimDelivery) -> str | None:
    """Return the job a delivery is about, if any."""
    job = delivery.body.get("job")
    return str(job["id"]) if job else None


@pytest.fixture(scope="module")
def week() -> list[SimDelivery]:
    """One week with the default seed."""
    return build_week(START)


def originals(week: list[SimDelivery]) -> list[SimDelivery]:
    """Return the first copy of every event (no redeliveries)."""
    return [d for d in week if not d.redelivery]


def test_deterministic_for_a_seed(week: list[SimDelivery]) -> None:
    assert build_week(START) == week
    assert build_week(START, seed=8) != week


def test_sorted_and_within_the_week(week: list[SimDelivery]) -> None:
    assert [d.deliver_at for d in week] == sorted(d.deliver_at for d in week)
    assert all(START <= d.deliver_at <= START + timedelta(days=7, hours=1) for d in week)
    assert all(d.deliver_at >= occurred(d) for d in week)


def test_envelope_shape(week: list[SimDelivery]) -> None:
    keys = {"customer": "customer", "job": "job", "estimate": "estimate", "invoice": "invoice"}
    for d in week:
        assert d.body["company_id"] == "co_sim_plumbing"
        assert ISO_Z.match(d.body["event_occurred_at"])
        assert keys[d.body["event"].split(".")[0]] in d.body
        if d.body["event"].startswith("invoice."):
            assert d.body["invoice"]["job_id"] == d.body["job"]["id"]


def test_job_count_and_cancellation_share(week: list[SimDelivery]) -> None:
    created = {job_id(d) for d in week if d.body["event"] == "job.created"}
    canceled = {job_id(d) for d in week if d.body["event"] == "job.canceled"}
    assert 40 <= len(created) <= 55
    assert 0.03 <= len(canceled) / len(created) <= 0.15
    statuses = {d.body["job"]["work_status"] for d in week if d.body["event"] == "job.canceled"}
    assert statuses <= {"user canceled", "pro canceled"}


def test_each_job_events_occur_in_order(week: list[SimDelivery]) -> None:
    in_delivery_order: dict[str, list[SimDelivery]] = defaultdict(list)
    for d in originals(week):
        if (jid := job_id(d)) is not None and not d.late:
            in_delivery_order[jid].append(d)
    for events in in_delivery_order.values():
        times = [occurred(d) for d in events]
        assert times == sorted(times)
    for d in originals(week):
        if d.late:
            assert d.body["event"] in LIFECYCLE
    by_job: dict[str, list[SimDelivery]] = defaultdict(list)
    for d in originals(week):
        if (jid := job_id(d)) is not None and d.body["event"] in LIFECYCLE:
            by_job[jid].append(d)
    for events in by_job.values():
        ranks = [LIFECYCLE.index(d.body["event"]) for d in sorted(events, key=occurred)]
        assert ranks == sorted(ranks)
        assert ranks[:2] == [0, 1]


def test_jobs_run_within_business_hours(week: list[SimDelivery]) -> None:
    for d in week:
        if d.body["event"] in ("job.on_my_way", "job.started", "job.completed"):
            local = occurred(d).astimezone(SHOP_TZ)
            assert local.weekday() < 5 and time(8) <= local.time() <= time(17)


def test_redeliveries_repeat_the_original_body(week: list[SimDelivery]) -> None:
    copies = [d for d in week if d.redelivery]
    assert copies
    bodies = [json.dumps(d.body, sort_keys=True) for d in originals(week)]
    for copy in copies:
        assert json.dumps(copy.body, sort_keys=True) in bodies
    assert 0.02 <= len(copies) / len(week) <= 0.08


def test_a_late_delivery_arrives_after_a_later_event_of_its_job(week: list[SimDelivery]) -> None:
    delivered: dict[str, list[datetime]] = defaultdict(list)
    overtaken = 0
    for d in week:
        jid = job_id(d)
        if jid is None:
            continue
        if d.late and any(occurred(d) < seen for seen in delivered[jid]):
            overtaken += 1
        delivered[jid].append(occurred(d))
    assert overtaken >= 1


def test_job_snapshots_match_their_event(week: list[SimDelivery]) -> None:
    expected_status = {
        "job.created": "needs scheduling",
        "job.scheduled": "scheduled",
        "job.on_my_way": "scheduled",
        "job.started": "in progress",
        "job.completed": "complete unrated",
        "job.paid": "complete unrated",
    }
    for d in week:
        event, job = d.body["event"], d.body.get("job")
        if job is None:
            continue
        assert 15_000 <= job["total_amount"] <= 250_000
        if event in expected_status:
            assert job["work_status"] == expected_status[event]
        if event in ("job.paid", "invoice.paid"):
            assert job["outstanding_balance"] == 0
        if event == "job.completed":
            assert job["work_timestamps"]["completed_at"] == d.body["event_occurred_at"]
        if event == "job.canceled":
            assert job["canceled_at"] == d.body["event_occurred_at"]
            assert job["work_timestamps"]["started_at"] is None
        if event == "invoice.created":
            assert d.body["invoice"]["status"] == "open"
            assert job["outstanding_balance"] == job["total_amount"] == d.body["invoice"]["due_amount"]


def test_payments_and_estimates_are_mixed(week: list[SimDelivery]) -> None:
    events = [d.body["event"] for d in originals(week)]
    completed = events.count("job.completed")
    assert events.count("job.paid") > completed / 2
    assert events.count("invoice.created") >= 1
    assert events.count("invoice.paid") + events.count("job.paid") < completed  # some unpaid at week end
    assert events.count("estimate.sent") >= 2
    assert events.count("job.appointment.rescheduled") >= 1


def test_customers_repeat_and_phones_vary(week: list[SimDelivery]) -> None:
    jobs = [d.body["job"] for d in originals(week) if d.body["event"] == "job.created"]
    repeat = len(jobs) - len({j["customer"]["id"] for j in jobs})
    assert 0.05 <= repeat / len(jobs) <= 0.25
    phones = [c["mobile_number"] for c in (d.body["customer"] for d in week if "customer" in d.body)]
    styles = {("+" if p.startswith("+") else "(" if p.startswith("(") else "-") for p in phones if p}
    assert styles == {"+", "(", "-"}


class Recorder:
    """A mock Housecall Pro-facing service: answers webhooks and clock advances, and records them."""

    def __init__(self) -> None:
        self.seen: set[bytes] = set()
        self.webhooks: list[httpx.Request] = []
        self.advances: list[int] = []
        self.clock = START

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Handle one request."""
        if request.url.path == "/api/clock/advance":
            assert request.headers["Authorization"] == "Bearer api-token"
            seconds: Any = json.loads(request.content)["seconds"]
            self.advances.append(seconds)
            self.clock += timedelta(seconds=seconds)
            return httpx.Response(200, json={"now": self.clock.isoformat()})
        assert request.url.path == "/webhooks/housecallpro"
        stamp = request.headers["Api-Timestamp"]
        assert signature_matches(SECRET, stamp, request.content, request.headers["Api-Signature"])
        assert self.clock <= datetime.fromtimestamp(int(stamp), UTC) < self.clock + timedelta(seconds=60)
        self.webhooks.append(request)
        if request.content in self.seen:
            return httpx.Response(200)
        self.seen.add(request.content)
        return httpx.Response(202)


def test_driver_signs_each_delivery_and_walks_the_clock(week: list[SimDelivery]) -> None:
    recorder = Recorder()
    end = START + timedelta(days=7)
    result = drive(
        "http://fieldrelay.test",
        "api-token",
        SECRET,
        week,
        START,
        end,
        transport=httpx.MockTransport(recorder),
        progress=False,
    )
    assert sum(recorder.advances) == (end - START).total_seconds()
    assert max(recorder.advances) <= 15 * 60
    assert result.sent == len(week) == len(recorder.webhooks)
    assert result.duplicates == sum(d.redelivery for d in week)
    assert result.accepted == len(week) - result.duplicates and result.refused == 0
    assert result.statuses == {202: result.accepted, 200: result.duplicates}
