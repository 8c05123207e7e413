"""The report's stale-record check through the real pipeline: signed webhooks, the worker, the error queue."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.domain import events as ev
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.reports.kpi import build_report, print_report
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import jobs
from tests.api.support import AUTH, deliver
from tests.conftest import START, TEST_YAML
from tests.helpers import job_envelope
from tests.service.support import PAT_E164, apply, at, job_event, pat, sim_clock

ERROR_REASON = "webhook in error queue since 2026-11-02 15:00Z: job job_2 names no customer and is not known yet"


def _advance(client: TestClient, minutes: float) -> None:
    """Move the simulated clock and run everything due (the webhooks stored so far among it)."""
    response = client.post("/api/clock/advance", json={"seconds": minutes * 60}, headers=AUTH)
    assert response.status_code == 200 and response.json()["drained"] is True


def _second_customer(event: str, at: str, embed_customer: bool) -> dict[str, Any]:
    """A job of another customer (different name, contact and address, so identity never merges the two)."""
    envelope = job_envelope(event, at, job_id="job_2", customer_id="cus_2", phone="(512) 555-0199", email="s@x.com")
    customer = envelope["job"]["customer"]
    customer.update(first_name="Sam", last_name="Lee")
    envelope["job"]["address"].update(street="9 Oak Ave", street_line_2=None)
    if not embed_customer:
        envelope["job"]["customer"] = None
    return envelope


def _one_error_and_one_applied(client: TestClient, clock: SimulatedClock) -> None:
    """Customer 1's job is applied; a job of an unknown customer (no customer in it) lands in the error queue."""
    deliver(client, job_envelope("job.created", "2026-11-02T14:30:00Z"), clock.now())
    deliver(client, _second_customer("job.completed", "2026-11-02T14:58:00Z", embed_customer=False), clock.now())
    _advance(client, 0)


def test_a_webhook_in_the_error_queue_makes_its_record_stale_until_it_is_applied(
    client: TestClient, runtime: Runtime, clock: SimulatedClock
) -> None:
    _one_error_and_one_applied(client, clock)
    errors = client.get("/api/errors", headers=AUTH).json()["items"]
    assert [e["summary"] for e in errors] == ["webhook job.completed"]

    # Younger than the 15-minute threshold: still in flight.
    early = build_report(runtime, now=START + timedelta(minutes=10)).staleness
    assert (early.records, early.stale, early.rate) == (2, (), 0.0)

    _advance(client, 20)
    check = build_report(runtime).staleness  # as of the runtime's (simulated) clock
    assert check.checked_at == START + timedelta(minutes=20)
    assert (check.records, len(check.stale), check.rate, check.stale_after_minutes) == (2, 1, 0.5, 15.0)
    stale = check.stale[0]
    assert (stale.customer_id, stale.label, stale.reason) == (None, "housecallpro job job_2", ERROR_REASON)
    assert (stale.since, stale.lag_minutes) == (START, 20.0)

    # The customer's job arrives with them in it: the record is known now, but the error row still lags.
    deliver(client, _second_customer("job.created", "2026-11-02T14:00:00Z", embed_customer=True), clock.now())
    _advance(client, 0)
    check = build_report(runtime).staleness
    assert (check.records, len(check.stale)) == (2, 1)
    assert check.stale[0].customer_id is not None and check.stale[0].reason == ERROR_REASON

    # Put back in line: pending since it was received, so still stale until the worker applies it.
    retried = client.post(f"/api/errors/{errors[0]['id']}/retry", headers=AUTH)
    assert retried.status_code == 200
    assert [s.reason for s in build_report(runtime).staleness.stale] == ["pending since 2026-11-02 15:00Z"]

    _advance(client, 0)
    check = build_report(runtime).staleness
    assert (check.records, check.stale, check.rate) == (2, (), 0.0)
    with runtime.engine.connect() as conn:
        assert sorted(conn.execute(select(jobs.c.status)).scalars()) == ["booked", "completed"]


def test_report_prints_and_serialises_the_stale_records(
    client: TestClient, runtime: Runtime, clock: SimulatedClock
) -> None:
    _one_error_and_one_applied(client, clock)
    data = build_report(runtime, now=START + timedelta(minutes=45))
    as_json = data.as_json()
    assert "stale_jobs" not in as_json
    assert {k: as_json[k] for k in ("stale_records", "stale_rate", "stale_after_minutes")} == {
        "stale_records": 1,
        "stale_rate": 0.5,
        "stale_after_minutes": 15.0,
    }
    assert as_json["records_with_field_events"] == 2
    assert as_json["stale_checked_at"] == "2026-11-02T15:45:00Z"
    assert as_json["stale_examples"] == [
        {
            "customer_id": None,
            "record": "housecallpro job job_2",
            "reason": ERROR_REASON,
            "since": "2026-11-02T15:00:00Z",
            "lag_minutes": 45.0,
        }
    ]
    out = StringIO()
    print_report(data, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "stale records (CRM lags a field event by more than 15 min)" in text
    assert "1 of 2 (50.0%)" in text
    assert f"stale housecallpro job job_2: {ERROR_REASON} (45 min behind, threshold 15 min)" in text
    # The test configuration runs no sequences: the follow-up section is there, with nothing in it.
    assert as_json["followup"]["enrollments_by_status"] == {} and as_json["followup"]["review_click_rate"] is None
    assert "enrolments active" in text and "review asks whose link was clicked │ 0 of 0" in text


def test_report_command_judges_staleness_as_of_the_given_time(
    client: TestClient, runtime: Runtime, clock: SimulatedClock, db_url: str, tmp_path: Path
) -> None:
    _one_error_and_one_applied(client, clock)
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TEST_YAML, encoding="utf-8")
    base = ["report", "--db", db_url, "--config", str(config), "--json"]

    def stale_at(at: str) -> tuple[int, float]:
        result = CliRunner().invoke(app, [*base, "--at", at])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        return data["stale_records"], data["stale_rate"]

    assert stale_at("2026-11-02T15:10:00Z") == (0, 0.0)
    assert stale_at("2026-11-02T15:16:00") == (1, 0.5)  # a time without a zone is UTC
    bad = CliRunner().invoke(app, [*base, "--at", "yesterday"])
    assert bad.exit_code == 2 and "not an ISO 8601 time" in bad.output


def test_report_counts_deals_by_stage_and_duplicates_merged_or_waiting(client: TestClient, runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    same = ev.CustomerSnapshot(external_id="sub_1", first_name="Pat", last_name="Doe", phones=(PAT_E164,))
    unsure = ev.CustomerSnapshot(external_id="sub_2", last_name="Doe", phones=(PAT_E164,))
    for ref, person in (("sub_1", same), ("sub_2", unsure)):
        apply(runtime, ev.LeadReceived(source="forms", occurred_at=at(-5), customer=person, lead_ref=ref))

    as_json = build_report(runtime).as_json()
    assert as_json["identity"] == {
        "merged_automatically": 1,
        "merged_by_a_person": 0,
        "merges_undone": 0,
        "waiting_for_review": 1,
    }
    assert as_json["customers"] == 2, "the merged-away record is not counted"
    assert as_json["deals_by_stage"] == {"new_lead": 1, "scheduled": 1}


def render(runtime: Runtime) -> tuple[dict[str, Any], str]:
    """The report as JSON and as printed."""
    data = build_report(runtime)
    out = StringIO()
    print_report(data, Console(file=out, width=200, color_system=None))
    return data.as_json(), out.getvalue()


def test_report_names_the_deal_stages_as_the_pipeline_calls_them(runtime: Runtime) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    as_json, text = render(runtime)
    assert as_json["deals_by_stage"] == {"scheduled": 1}  # ids in the JSON, for machines
    assert as_json["deal_stage_names"]["new_lead"] == "New lead - needs qualification"
    assert "deals at Scheduled " in text and "deals at scheduled" not in text


def test_a_late_delivery_is_counted_once_as_not_applied(
    client: TestClient, runtime: Runtime, clock: SimulatedClock
) -> None:
    deliver(client, job_envelope("job.completed", "2026-11-02T14:50:00Z"), clock.now())
    _advance(client, 1)
    deliver(client, job_envelope("job.on_my_way", "2026-11-02T14:20:00Z"), clock.now())  # older than completed
    _advance(client, 1)
    as_json, text = render(runtime)
    intake = as_json["intake"]
    assert (intake["received"], intake["applied"], intake["logged_not_applied"]) == (2, 1, 1)
    kinds = ("applied", "logged_not_applied", "ignored", "errors", "pending")
    assert sum(intake[k] for k in kinds) == intake["unique"] == 2
    assert re.search(r"applied to the mirror\s+│ 1 ", text)


def test_review_requests_held_for_quiet_hours_are_said_apart_from_the_lag(runtime: Runtime) -> None:
    day, night = at(2 * 60), at(13 * 60 + 15)  # 11:00 (asked at 11:30); 22:15, after the text window (asked at 08:00)
    sam = pat("cus_2", ("+1 512 555 0177",), ())
    for moment, job_id, who in ((day, "job_1", pat()), (night, "job_2", sam)):
        paid = job_event(ev.PaymentCaptured, moment, job_id, who, payment_ref=f"job:{job_id}", amount_cents=100)
        apply(runtime, paid, now=moment)
    clock = sim_clock(runtime)
    for moment in (day + timedelta(minutes=30), at(23 * 60)):  # the worker's turns at 11:30 and 08:00
        clock.advance_to(moment)
        assert runtime.new_worker("report").drain(timeout_seconds=30)

    as_json, text = render(runtime)
    held = as_json["review_requests_held_for_quiet_hours"]
    assert (held["count"], held["text_hours"], held["sent_at_local"]) == (1, "08:00-21:00", ["2026-11-03T14:00:00Z"])
    assert re.search(r"review asks held for quiet hours \(texts go out 08:00-21:00\), sent at 08:00\s+│ 1 of 2 ", text)
    assert re.search(r"payment → review-request text, p95 of those not held\s+│ 30\.0 min", text)
