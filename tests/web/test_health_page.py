"""The Health page without a browser: backlog and oldest wait per queue and target, a CRM target's open circuit,
dead rows by connector, webhooks, applied events and deliveries per minute; CSV of each table; owner and operations
only."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from fieldrelay.engine.breaker import Transition
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.health import HealthRecorder
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from tests.conftest import TEST_YAML
from tests.service.access.support import add_person
from tests.storage.error_rows import ACCOUNT, add_dead_outbox, add_inbox_error
from tests.storage.health_rows import add_delivery, add_due_timer, add_webhook
from tests.web.support import sign_in

MIN = timedelta(minutes=1)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test shop with HubSpot as an outside CRM (never called here: the rows are written by hand)."""
    monkeypatch.setenv("FIELDRELAY_HUBSPOT_TOKEN", "test-token")
    return parse_settings(TEST_YAML + "\ncrm:\n  targets: [hubspot]\n", "test.yaml")


def _rows(client: TestClient, key: str, query: str = "") -> list[dict[str, str]]:
    response = client.get(f"/health/{key}.csv?{query}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_the_backlog_circuits_dead_rows_and_the_minutes(
    runtime: Runtime, office: TestClient, clock: SimulatedClock
) -> None:
    now = clock.now()
    add_webhook(runtime.engine, now - 7 * MIN, "jobber")
    add_webhook(runtime.engine, now - 2 * MIN, "jobber")
    add_webhook(runtime.engine, now - 30 * MIN, processed_at=now - 29 * MIN)
    add_webhook(runtime.engine, now - 5 * MIN, processed_at=now - 5 * MIN)
    add_due_timer(runtime.engine, now - 3 * MIN)
    add_due_timer(runtime.engine, now + 60 * MIN)  # not due: not a backlog
    add_delivery(runtime.engine, now - 12 * MIN, "hubspot", held=True)
    add_delivery(runtime.engine, now - 4 * MIN, "sms", sent_at=now - 3 * MIN)
    add_inbox_error(runtime.engine, now - 2 * timedelta(days=1), connector="jobber", status="dead")
    add_dead_outbox(runtime.engine, now - 20 * MIN)
    add_person(runtime, "Olga", "operations")
    assert sign_in(office, "Olga") == 303

    page = office.get("/health")
    assert page.status_code == 200 and 'aria-current="page">Health' in page.text
    # backlog, three queues' waiting and oldest wait over time, dead rows, three per-minute series
    assert page.text.count('<svg class="chart"') == 11
    backlog = {
        (r["queue"], r["connector, kind or target"]): (r["waiting"], r["oldest wait (min)"])
        for r in _rows(office, "backlog")
    }
    assert backlog == {
        ("inbox", "jobber"): ("2", "7.0"),
        ("timers", "sequence_step"): ("1", "3.0"),
        ("outbox", "hubspot"): ("1", "12.0"),
    }
    assert [(r["target"], r["state"], r["as told by"]) for r in _rows(office, "circuits")] == [
        ("hubspot", "open", "the latest try (the breaker recorded nothing yet)")
    ]
    dead = {(r["kind"], r["connector or target"]): r["rows"] for r in _rows(office, "dead_rows")}
    assert dead == {("inbox", "jobber"): "1", ("outbox", "sms"): "1"}

    hour = _rows(office, "per_minute")
    assert len(hour) == 60
    assert sum(int(r["webhooks acknowledged"]) for r in hour) == 4
    assert sum(int(r["events applied"]) for r in hour) == 2
    assert sum(int(r["deliveries sent"]) for r in hour) == 1
    quarter = _rows(office, "per_minute", "minutes=15")
    assert len(quarter) == 15 and sum(int(r["webhooks acknowledged"]) for r in quarter) == 3


def test_a_delivery_after_the_outage_closes_the_circuit(
    runtime: Runtime, office: TestClient, clock: SimulatedClock
) -> None:
    now = clock.now()
    add_delivery(runtime.engine, now - 12 * MIN, "hubspot", held=True)
    add_delivery(runtime.engine, now - 1 * MIN, "hubspot", held=False)
    add_person(runtime, "Olga", "owner")
    assert sign_in(office, "Olga") == 303
    # The newer row was never tried: the circuit is still open until a try goes through.
    assert [r["state"] for r in _rows(office, "circuits")] == ["open"]


@pytest.mark.parametrize("role", ["office", "technician"])
def test_only_the_owner_and_operations_see_health(runtime: Runtime, office: TestClient, role: str) -> None:
    add_person(runtime, "Pat", role)
    assert sign_in(office, "Pat") == 303
    assert office.get("/health").status_code == 403
    assert office.get("/health/backlog.csv").status_code == 403


def test_the_backlog_over_the_chosen_hours_comes_from_the_worker_s_samples(
    runtime: Runtime, office: TestClient, clock: SimulatedClock
) -> None:
    recorder = HealthRecorder(runtime.engine, clock, ACCOUNT, "w1")
    start = clock.now()
    add_webhook(runtime.engine, start, "jobber")
    assert recorder.sample()
    clock.advance(60)
    add_delivery(runtime.engine, clock.now(), "sms")
    assert recorder.sample()
    clock.advance(50 * 60)  # no worker ran since: a gap
    add_person(runtime, "Olga", "owner")
    assert sign_in(office, "Olga") == 303

    hour = _rows(office, "backlog_history", "hours=1")
    assert len(hour) == 60
    sampled = [r for r in hour if r["inbox waiting"]]
    assert [(r["inbox waiting"], r["outbox waiting"], r["timers waiting"]) for r in sampled] == [
        ("1", "0", "0"),
        ("1", "1", "0"),
    ]
    assert sampled[1]["inbox oldest wait (min)"] == "1.0"
    assert sum(1 for r in hour if r["inbox waiting"] == "") == 58, "minutes nobody sampled are empty, not zero"
    by_target = [(r["queue"], r["connector, kind or target"]) for r in _rows(office, "backlog_targets", "hours=1")]
    assert by_target == [("inbox", "jobber"), ("inbox", "jobber"), ("outbox", "sms")]

    day = _rows(office, "backlog_history", "hours=24")
    assert len(day) == 60
    (point,) = [r for r in day if r["inbox waiting"]]
    assert (point["inbox waiting"], point["outbox waiting"]) == ("1", "1"), "the worst of the bucket's minutes"
    page = office.get("/health?hours=24")
    assert "Backlog over the last 24 hours (24 minutes a point" in page.text
    assert 'value="24" checked' in page.text


def test_the_circuit_is_the_one_the_breaker_recorded(
    runtime: Runtime, office: TestClient, clock: SimulatedClock
) -> None:
    now = clock.now()
    add_delivery(runtime.engine, now - 12 * MIN, "hubspot", held=True)  # inferred: open
    HealthRecorder(runtime.engine, clock, ACCOUNT, "w1").circuit_changed(Transition("hubspot", "half_open", now))
    add_person(runtime, "Olga", "owner")
    assert sign_in(office, "Olga") == 303
    (circuit,) = _rows(office, "circuits")
    assert (circuit["state"], circuit["as told by"], circuit["next probe"]) == (
        "half-open (probing)",
        "the breaker",
        "",
    )
