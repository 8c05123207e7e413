"""crm.sync rows through the worker: written once, in order, failures recorded, outages held behind the breaker."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from fieldrelay.connectors.devmail.outbound import DevMailSender
from fieldrelay.connectors.devsms.outbound import DevSmsSender
from fieldrelay.domain import events as ev
from fieldrelay.engine.worker import Worker
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.crm.targets import CRM_SYNC, CrmChange, CrmWriteFailed, CrmWriteResult
from fieldrelay.storage.ops import circuits, errors
from fieldrelay.storage.tables import delivery_attempts, outbox
from tests.conftest import TEST_YAML
from tests.service.support import apply, at, job_event, rows, sim_clock

CRM_YAML = (
    TEST_YAML
    + """
crm:
  targets: [hubspot]
  breaker: {failures: 2, cool_down_seconds: 60, max_cool_down_seconds: 240}
"""
)


@pytest.fixture
def settings() -> Settings:
    """The test settings writing to HubSpot, with a breaker that opens after two outage failures."""
    return parse_settings(CRM_YAML, "test.yaml")


class ScriptedCrm:
    """A CRM target that fails as scripted (one entry per call, None: accept), recording what it accepted."""

    def __init__(self, name: str, script: list[CrmWriteFailed | None] | None = None) -> None:
        self.name = name
        self.script = list(script or [])
        self.calls = 0
        self.written: list[CrmChange] = []

    def write(self, change: CrmChange) -> CrmWriteResult:
        self.calls += 1
        failure = self.script.pop(0) if self.script else None
        if failure is not None:
            raise failure
        self.written.append(change)
        return CrmWriteResult(remote_id=f"c-{change.contact.fieldrelay_id}", detail=f"upserted {change.event}")


def _recorded(runtime: Runtime) -> tuple[str, datetime, datetime | None]:
    """HubSpot's circuit as the worker's breaker recorded it: state, since, next probe."""
    with runtime.engine.connect() as conn:
        state = circuits.recorded(conn, runtime.settings.account_id)["hubspot"]
    return state.state, state.since, state.next_probe_at


def worker_for(runtime: Runtime, *targets: ScriptedCrm) -> Worker:
    """A worker delivering crm.sync rows to the scripted targets."""
    sms = DevSmsSender(runtime.dev_sink, runtime.clock)
    crm = {t.name: t for t in targets}
    email = DevMailSender(runtime.dev_sink, runtime.clock)
    return Worker(
        runtime.engine, runtime.settings, runtime.clock, runtime.inbound, sms, "crm-worker", email=email, crm=crm
    )


def crm_rows(runtime: Runtime) -> list[Any]:
    """Every crm.sync outbox row, oldest first."""
    return rows(runtime, outbox, outbox.c.kind == CRM_SYNC)


def down(detail: str = "503 Service Unavailable", retry_after: float | None = None) -> CrmWriteFailed:
    """An outage failure, as a connector raises it for a 5xx or a 429."""
    return CrmWriteFailed(detail, status_code=503, target_down=True, retry_after_seconds=retry_after)


def test_each_change_is_written_once_in_order_and_its_attempt_recorded(runtime: Runtime) -> None:
    """Booked, completed, paid: three writes in event order; each row sent, with an attempt saying what came back."""
    apply(runtime, job_event(ev.JobBooked, at(-300)))
    apply(runtime, job_event(ev.JobCompleted, at(-60)))
    apply(runtime, job_event(ev.PaymentCaptured, at(-1), amount_cents=45000))
    hubspot = ScriptedCrm("hubspot")
    assert worker_for(runtime, hubspot).drain(30)

    assert [c.event for c in hubspot.written] == ["job.booked", "job.completed", "job.paid"]
    assert [r.status for r in crm_rows(runtime)] == ["sent"] * 3
    attempts = rows(runtime, delivery_attempts)
    assert [(a.attempt, a.outcome, a.detail) for a in attempts] == [
        (1, "sent", "upserted job.booked"),
        (1, "sent", "upserted job.completed"),
        (1, "sent", "upserted job.paid"),
    ]


def test_a_refused_record_is_dead_in_the_error_queue_and_replays_by_hand(runtime: Runtime) -> None:
    """A 300 multiple matches is for a person: dead at once, listed under its target, delivered after a retry."""
    apply(runtime, job_event(ev.PaymentCaptured, at(-1), amount_cents=45000))
    refusal = CrmWriteFailed("300 several Contacts share this external id", retryable=False, status_code=300)
    hubspot = ScriptedCrm("hubspot", [refusal])
    worker = worker_for(runtime, hubspot)
    assert worker.drain(30)

    (row,) = crm_rows(runtime)
    assert (row.status, row.last_error) == ("dead", "300 several Contacts share this external id")
    with runtime.engine.connect() as conn:
        (item,) = errors.list_errors(conn, runtime.settings.account_id, source="hubspot")
    assert (item.kind, item.id, item.attempts) == ("outbox", f"outbox-{row.id}", 1)
    (attempt,) = rows(runtime, delivery_attempts)
    assert (attempt.outcome, attempt.status_code) == ("failed", 300)

    with runtime.engine.begin() as conn:
        assert errors.retry(conn, runtime.settings.account_id, item.id, runtime.clock.now())
    assert worker.drain(30)
    assert [c.event for c in hubspot.written] == ["job.paid"]
    assert crm_rows(runtime)[0].status == "sent"


def test_an_outage_opens_the_circuit_and_the_rows_wait_without_spending_tries(runtime: Runtime) -> None:
    """Two 503s open the breaker; the rows wait for the probe, keep their tries, and all land once it answers."""
    clock = sim_clock(runtime)
    apply(runtime, job_event(ev.JobBooked, at(-300)))
    apply(runtime, job_event(ev.JobBooked, at(-200), job_id="job_2", customer=_sam()))
    hubspot = ScriptedCrm("hubspot", [down(), down(), down()])
    worker = worker_for(runtime, hubspot)
    assert worker.drain(30)

    first, second = crm_rows(runtime)
    assert hubspot.calls == 2, "the second 503 opened the circuit: nothing more was sent"
    assert worker.breakers.is_open("hubspot")
    assert (first.status, first.attempts) == ("pending", 1), "the first failure spent a try; the circuit was closed"
    assert (second.status, second.attempts) == ("pending", 0), "the failure that opened the circuit handed it back"
    assert second.next_attempt_at == clock.now() + timedelta(seconds=60)
    opened = clock.now()
    assert _recorded(runtime) == ("open", opened, opened + timedelta(seconds=60))

    clock.advance(60)
    assert worker.drain(30)
    assert hubspot.calls == 3, "one probe, which failed: the circuit is open for twice as long"
    assert worker.breakers.blocked_until("hubspot", clock.now()) == clock.now() + timedelta(seconds=120)
    # Half-open for the probe, then open again: open since the failed probe, until the doubled cool-down.
    assert _recorded(runtime) == ("open", clock.now(), clock.now() + timedelta(seconds=120))

    clock.advance(180)
    assert worker.drain(30)
    assert sorted(c.contact.first_name or "" for c in hubspot.written) == ["Pat", "Sam"]
    assert [r.status for r in crm_rows(runtime)] == ["sent", "sent"]
    assert not worker.breakers.is_open("hubspot")
    assert _recorded(runtime) == ("closed", clock.now(), None)
    outcomes = [(a.outbox_id, a.attempt, a.outcome) for a in rows(runtime, delivery_attempts)]
    assert outcomes == [
        (first.id, 1, "failed"),
        (second.id, 1, "held"),
        (first.id, 2, "held"),
        (first.id, 2, "sent"),
        (second.id, 1, "sent"),
    ], "every try is recorded; a held one keeps its number, since it spent nothing"
    with runtime.engine.connect() as conn:
        assert errors.list_errors(conn, runtime.settings.account_id) == []


def test_a_requested_pause_is_honoured(runtime: Runtime) -> None:
    """A daily limit (not an outage) asks for an hour: the retry comes no sooner, and it spends a try."""
    clock = sim_clock(runtime)
    apply(runtime, job_event(ev.JobBooked, at(-300)))
    limited = CrmWriteFailed("429 daily limit", status_code=429, retry_after_seconds=3600)
    hubspot = ScriptedCrm("hubspot", [limited])
    worker = worker_for(runtime, hubspot)
    assert worker.drain(30)
    (row,) = crm_rows(runtime)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, clock.now() + timedelta(hours=1))

    clock.advance(3600)
    assert worker.drain(30)
    assert [c.event for c in hubspot.written] == ["job.booked"]


def test_a_row_for_a_target_no_longer_configured_is_dead_with_the_reason(runtime: Runtime) -> None:
    """Salesforce was dropped from crm.targets after its rows were queued: they wait for a person, saying why."""
    apply(runtime, job_event(ev.JobBooked, at(-300)))
    with runtime.engine.begin() as conn:
        conn.execute(update(outbox).values(target="salesforce"))
    assert worker_for(runtime, ScriptedCrm("hubspot")).drain(30)
    (row,) = crm_rows(runtime)
    assert row.status == "dead"
    assert row.last_error.startswith("salesforce is not a configured CRM target")


def test_an_unreadable_change_is_dead_not_lost(runtime: Runtime) -> None:
    """A payload that is not a change (hand-edited, say) ends in the error queue with what was wrong."""
    apply(runtime, job_event(ev.JobBooked, at(-300)))
    with runtime.engine.begin() as conn:
        conn.execute(update(outbox).values(payload={"key": "x"}))
    hubspot = ScriptedCrm("hubspot")
    assert worker_for(runtime, hubspot).drain(30)
    (row,) = crm_rows(runtime)
    assert row.status == "dead" and row.last_error.startswith("unreadable CRM change (KeyError")
    assert hubspot.calls == 0


def _sam() -> ev.CustomerSnapshot:
    return ev.CustomerSnapshot(
        external_id="cus_2", first_name="Sam", last_name="Lee", phones=("(512) 555-0177",), emails=("sam@example.com",)
    )
