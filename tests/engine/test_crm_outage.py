"""HubSpot down for a simulated hour while 1,000 field events flow: afterwards every write has landed once, in order.

The real HubSpot connector talks to a stand-in HubSpot (``httpx.MockTransport``) that answers 503 and 429 in turn for
the first hour; the worker runs on the simulated clock as events arrive. Nobody touches the error queue.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import httpx
import pytest

from fieldrelay.connectors.devmail.outbound import DevMailSender
from fieldrelay.connectors.devsms.outbound import DevSmsSender
from fieldrelay.connectors.hubspot.target import HubSpotTarget
from fieldrelay.domain import events as ev
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.worker import Worker
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.crm.targets import CRM_SYNC
from fieldrelay.storage.ops import errors
from fieldrelay.storage.tables import outbox
from tests.conftest import START, TEST_YAML
from tests.connectors.hubspot.support import Sleeps
from tests.engine.fake_hubspot import StatefulHubSpot
from tests.service.support import apply, rows

CUSTOMERS = 200
LIFECYCLE: tuple[type[ev.JobEvent], ...] = (
    ev.JobBooked,
    ev.JobDispatched,
    ev.JobCompleted,
    ev.JobInvoiced,
    ev.PaymentCaptured,
)  # five events per customer: 1,000 in all
OUTAGE = timedelta(hours=1)


@pytest.fixture
def settings() -> Settings:
    """The test settings writing to HubSpot."""
    return parse_settings(TEST_YAML + "crm:\n  targets: [hubspot]\n", "test.yaml")


def customer(n: int) -> ev.CustomerSnapshot:
    """The n-th homeowner: their own phone and email, so no two are the same person."""
    return ev.CustomerSnapshot(
        external_id=f"cus_{n}",
        first_name=f"Owner{n:03d}",
        last_name="Homes",
        phones=(f"+1512555{n:04d}",),
        emails=(f"owner{n:03d}@example.com",),
    )


def test_an_hour_of_503s_and_429s_loses_and_repeats_nothing(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, SimulatedClock)
    hubspot = StatefulHubSpot(clock, runtime.settings.pipeline)
    hubspot.down_until = START + OUTAGE
    target = HubSpotTarget(
        runtime.settings.crm.hubspot,
        "pat-na1-test",
        clock,
        transport=httpx.MockTransport(hubspot),
        sleep=Sleeps(clock),
    )
    sms = DevSmsSender(runtime.dev_sink, clock)
    email = DevMailSender(runtime.dev_sink, clock)
    worker = Worker(
        runtime.engine, runtime.settings, clock, runtime.inbound, sms, "outage", email=email, crm={"hubspot": target}
    )

    # Events arrive through the outage, one customer's five in the order they happen, a minute apart in all.
    events = [
        kind(
            source="housecallpro",
            occurred_at=START + timedelta(seconds=step * 3),
            customer=customer(n),
            job=ev.JobSnapshot(external_id=f"job_{n}", service_type="Drain cleaning", total_cents=45000),
            **({"amount_cents": 45000} if kind in (ev.JobInvoiced, ev.PaymentCaptured) else {}),
        )
        for step, (kind, n) in enumerate((kind, n) for kind in LIFECYCLE for n in range(CUSTOMERS))
    ]
    for first in range(0, len(events), 20):
        clock.advance(60)
        apply(runtime, *events[first : first + 20], now=clock.now())
        assert worker.drain(60)
    assert clock.now() < START + OUTAGE, "every event arrived while HubSpot was down"
    assert hubspot.notes == [], "nothing got through the outage"
    assert worker.breakers.is_open("hubspot")

    # HubSpot comes back; the worker alone (no one retries anything) catches up within a few probes.
    deadline = START + OUTAGE + timedelta(minutes=30)
    while clock.now() < deadline:
        clock.advance(60)
        assert worker.drain(60)
        if not rows(runtime, outbox, outbox.c.status.in_(("pending", "sending"))):
            break

    synced = rows(runtime, outbox, outbox.c.kind == CRM_SYNC)
    assert len(synced) == len(events)
    assert {r.status for r in synced} == {"sent"}
    tries = sorted(r.attempts for r in synced)
    assert tries[-1] <= 2, "the outage spent at most the one try taken before the circuit opened"
    with runtime.engine.connect() as conn:
        assert errors.list_errors(conn, runtime.settings.account_id) == []

    # Exactly once: one note per event, and one contact per homeowner.
    assert len(hubspot.notes) == len(events)
    assert len({note.body for note in hubspot.notes}) == len(events)
    assert len(hubspot.contacts) == CUSTOMERS
    # In order: each contact's notes were written in the order its events happened.
    by_contact: dict[str, list[str]] = defaultdict(list)
    for note in hubspot.notes:
        by_contact[note.contact_id].append(note.at)
    assert len(by_contact) == CUSTOMERS
    assert all(times == sorted(times) and len(times) == len(LIFECYCLE) for times in by_contact.values())
