"""Each outside CRM stays as true as the built-in one: HubSpot, Salesforce and the signed webhook, each through its
real connector talking to a stand-in that keeps what it is told (tests/engine/crm_standins.py), on both databases.

A refused change retried after newer ones landed leaves the newer state; a contact-only update, a changed email, a
cleared field, a merge and its undo, a consent change all arrive; a mid-stream outage changes nothing of the order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from fieldrelay.connectors.devmail.outbound import DevMailSender
from fieldrelay.connectors.devsms.outbound import DevSmsSender
from fieldrelay.connectors.hubspot.target import HubSpotTarget
from fieldrelay.connectors.salesforce.auth import SalesforceCredentials
from fieldrelay.connectors.salesforce.target import SalesforceTarget
from fieldrelay.connectors.webhook_out.target import SignedWebhookTarget
from fieldrelay.domain import events as ev
from fieldrelay.engine.worker import Worker
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.crm.targets import CRM_SYNC, CrmTarget
from fieldrelay.service.identity import review
from fieldrelay.storage.ops import errors
from fieldrelay.storage.tables import merge_candidates, messages, outbox
from tests.conftest import TEST_YAML
from tests.connectors.hubspot.support import Sleeps
from tests.engine.crm_standins import (
    WEBHOOK_SECRET,
    HubSpotStandIn,
    SalesforceStandIn,
    StandIn,
    View,
    WebhookReceiver,
)
from tests.service.support import HCP, apply, at, in_store, only_customer, rows, sim_clock

TARGETS = ("hubspot", "salesforce", "webhook")
# The job.completed row also empties the next appointment when no job is booked any more (as the playbook's does).
MAPPING = TEST_YAML.replace(
    "last_service_at: event.occurred_at}}",
    "last_service_at: event.occurred_at, next_appointment_at: customer.next_appointment_at}}",
)


def crm_yaml(target: str, *, on_merge: str = "mark", never_clear: bool = False) -> str:
    """The test settings writing to one target, with fields for the appointment, the stage, consent, the merge."""
    text = MAPPING
    if never_clear:
        text = text.replace(
            "  job.completed: {write: {",
            "  job.completed: {never_clear: [next_appointment_at], write: {",
        )
    return (
        text
        + f"""
crm:
  targets: [{target}]
  on_merge: {on_merge}
  breaker: {{failures: 2, cool_down_seconds: 60, max_cool_down_seconds: 240}}
  hubspot: {{properties: {{sms_opted_out: sms_consent_opted_out}}}}
  salesforce:
    instance_url: https://standin.my.salesforce.com
    fields:
      next_appointment_at: Next_Appointment__c
      deal_stage: Deal_Stage__c
      merged_into: Merged_Into__c
      sms_opted_out: DoNotCall
  webhook: {{url: "https://hooks.example.test/fieldrelay"}}
"""
    )


@pytest.fixture(params=TARGETS)
def target_name(request: pytest.FixtureRequest) -> str:
    """Which outside CRM the test writes to."""
    return str(request.param)


@pytest.fixture
def settings(target_name: str) -> Settings:
    """The test settings writing to that one target."""
    return parse_settings(crm_yaml(target_name), "test.yaml")


@dataclass
class Crm:
    """The stand-in of one target and a worker delivering to it through the real connector."""

    name: str
    standin: Any  # HubSpotStandIn | SalesforceStandIn | WebhookReceiver
    worker: Worker

    def view(self, customer_id: str) -> View:
        """The record as the target holds it now."""
        view: View = self.standin.view(customer_id)
        return view

    def drain(self) -> None:
        assert self.worker.drain(60)


def connect(runtime: Runtime, name: str, settings: Settings | None = None) -> Crm:
    """A stand-in for ``name`` and a worker (with ``settings``, else the runtime's) writing to it."""
    clock = sim_clock(runtime)
    settings = settings or runtime.settings
    standin: StandIn
    target: CrmTarget
    if name == "hubspot":
        standin = HubSpotStandIn(settings.pipeline)
        transport = httpx.MockTransport(standin)
        target = HubSpotTarget(settings.crm.hubspot, "pat-na1-test", clock, transport=transport, sleep=Sleeps(clock))
    elif name == "salesforce":
        standin = SalesforceStandIn()
        transport = httpx.MockTransport(standin)
        creds = SalesforceCredentials(access_token="00Dxx!standin")
        target = SalesforceTarget(settings.crm.salesforce, creds, transport)
    else:
        standin = WebhookReceiver(clock)
        transport = httpx.MockTransport(standin)
        target = SignedWebhookTarget(settings.crm.webhook, WEBHOOK_SECRET, clock, transport)
    sms = DevSmsSender(runtime.dev_sink, clock)
    email = DevMailSender(runtime.dev_sink, clock)
    worker = Worker(
        runtime.engine, settings, clock, runtime.inbound, sms, f"crm-{name}", email=email, crm={name: target}
    )
    return Crm(name, standin, worker)


@pytest.fixture
def crm(runtime: Runtime, target_name: str) -> Crm:
    """The target under test, reached through its stand-in."""
    return connect(runtime, target_name)


def person(n: int, *, last_name: str = "Doe", emails: tuple[str, ...] = (), phones: tuple[str, ...] = ()) -> Any:
    """The n-th homeowner, with their own phone and email unless others are given."""
    return ev.CustomerSnapshot(
        external_id=f"cus_{n}",
        first_name=f"Owner{n}",
        last_name=last_name,
        phones=phones or (f"+1512555{n:04d}",),
        emails=emails or (f"owner{n}@example.com",),
    )


def job(
    kind: type[ev.JobEvent], minutes: float, n: int = 1, *, start: datetime | None = None, **extra: Any
) -> ev.JobEvent:
    """A Housecall Pro job event for homeowner ``n``'s job."""
    snapshot = ev.JobSnapshot(
        external_id=f"job_{n}", service_type="Drain cleaning", total_cents=45000, scheduled_start=start
    )
    return kind(source=HCP, occurred_at=at(minutes), customer=person(n), job=snapshot, **extra)


def crm_rows(runtime: Runtime) -> list[Any]:
    """Every crm.sync outbox row, oldest first."""
    return rows(runtime, outbox, outbox.c.kind == CRM_SYNC)


def customer_id(runtime: Runtime, n: int) -> str:
    """The mirror id of homeowner ``n``."""
    found: str = in_store(runtime, lambda store: store.customer_by_external(HCP, f"cus_{n}")).id  # type: ignore[union-attr]
    return found


def retry_dead(runtime: Runtime) -> int:
    """Put every dead CRM row back to work, as a person retrying the error queue does; how many."""
    with runtime.engine.begin() as conn:
        return errors.retry_all(conn, runtime.settings.account_id, runtime.clock.now())


def test_a_refused_change_retried_after_a_newer_one_landed_leaves_the_newer_state(runtime: Runtime, crm: Crm) -> None:
    """Booked is refused; paid lands (Won); the booked row, retried by hand, writes the record as it is now: Won."""
    crm.standin.refuse_next = 1
    apply(runtime, job(ev.JobBooked, -300, start=at(24 * 60)))
    crm.drain()
    (booked,) = crm_rows(runtime)
    assert booked.status == "dead"
    me = customer_id(runtime, 1)
    assert not crm.view(me).exists, "the refusal wrote nothing"

    apply(runtime, job(ev.PaymentCaptured, -100, amount_cents=45000))
    crm.drain()
    assert crm.view(me).stage == "Won"
    writes = crm.standin.writes

    assert retry_dead(runtime) == 1
    crm.drain()
    assert [r.status for r in crm_rows(runtime)] == ["sent", "sent"]
    assert crm.standin.writes == writes + 1, "the retry did write"
    after = crm.view(me)
    assert after.stage == "Won", "the retry of the older change did not move the deal back to Scheduled"
    assert crm.standin.stages[me] == ["Won", "Won"]
    if crm.name == "webhook":
        newest = max(r.id for r in crm_rows(runtime))
        assert crm.standin.applied_sequences[me] == [newest, newest], "the retry carries the newest state's number"


def test_a_contact_only_update_reaches_the_crm(runtime: Runtime, crm: Crm) -> None:
    """customer.updated with a new surname and email, no job: the CRM has both."""
    apply(runtime, ev.CustomerCreated(source=HCP, occurred_at=at(-300), customer=person(1)))
    crm.drain()
    me = customer_id(runtime, 1)
    assert (crm.view(me).last_name, crm.view(me).email) == ("Doe", "owner1@example.com")

    renamed = person(1, last_name="Doe-Rivera", emails=("pat.rivera@example.com",))
    apply(runtime, ev.CustomerUpdated(source=HCP, occurred_at=at(-200), customer=renamed))
    crm.drain()
    view = crm.view(me)
    assert (view.last_name, view.email) == ("Doe-Rivera", "pat.rivera@example.com")
    assert [r.payload["event"] for r in crm_rows(runtime)] == ["customer.created", "customer.updated"]


def test_a_changed_email_and_phone_reach_the_crm_as_the_primary_ones(runtime: Runtime, crm: Crm) -> None:
    """The field tool names a new email and phone on a later job event: the CRM gets them, not the oldest."""
    apply(runtime, job(ev.JobBooked, -300))
    crm.drain()
    me = customer_id(runtime, 1)
    assert crm.view(me).email == "owner1@example.com"

    moved = person(1, emails=("owner1.new@example.com",), phones=("+15125559876",))
    completed = ev.JobCompleted(
        source=HCP, occurred_at=at(-100), customer=moved, job=ev.JobSnapshot(external_id="job_1")
    )
    apply(runtime, completed)
    crm.drain()
    view = crm.view(me)
    assert (view.email, view.phone) == ("owner1.new@example.com", "+15125559876")
    held = in_store(runtime, lambda store: (store.emails_of(me), store.phones_of(me)))
    assert held == (["owner1.new@example.com", "owner1@example.com"], ["+15125559876", "+15125550001"])


def test_a_field_cleared_in_fieldrelay_is_cleared_at_the_crm(runtime: Runtime, crm: Crm) -> None:
    """Booked for tomorrow: the next appointment is set; completed with nothing else booked: it is empty there too."""
    apply(runtime, job(ev.JobBooked, -300, start=at(24 * 60)))
    crm.drain()
    me = customer_id(runtime, 1)
    assert crm.view(me).next_appointment_at is not None

    apply(runtime, job(ev.JobCompleted, -100))
    crm.drain()
    assert crm.view(me).next_appointment_at is None
    assert crm.view(me).exists


def test_a_field_the_mapping_says_never_to_clear_keeps_its_value(runtime: Runtime, target_name: str) -> None:
    """never_clear: [next_appointment_at]: fieldrelay empties it, the CRM keeps what it had."""
    keep = connect(runtime, target_name, parse_settings(crm_yaml(target_name, never_clear=True), "test.yaml"))
    apply(runtime, job(ev.JobBooked, -300, start=at(24 * 60)))
    keep.drain()
    me = customer_id(runtime, 1)
    before = keep.view(me).next_appointment_at
    assert before is not None

    apply(runtime, job(ev.JobCompleted, -100))
    keep.drain()
    assert in_store(runtime, lambda store: store.fields_of(me)["next_appointment_at"].value) is None
    assert keep.view(me).next_appointment_at == before


def _merge(runtime: Runtime, survivor: str, merged: str) -> int:
    """A person merges ``merged`` into ``survivor`` from the review queue; the merge id."""
    in_store(runtime, lambda store: store.add_merge_candidate(merged, survivor, 0.91, "name+address", []))
    with runtime.engine.connect() as conn:
        candidate = conn.execute(select(merge_candidates.c.id).where(merge_candidates.c.customer_id == merged)).scalar()
    assert candidate is not None
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        return review.merge_pair(ctx, candidate, "Dana")


def _unmerge(runtime: Runtime, merge_id: int) -> None:
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        review.unmerge(ctx, merge_id, "Dana")


@pytest.mark.parametrize("on_merge", ["mark", "delete"])
def test_a_merge_and_its_undo_are_reflected(runtime: Runtime, target_name: str, on_merge: str) -> None:
    """Merged: the survivor carries what the duplicate brought, the duplicate is marked or gone; undone: it is back."""
    crm = connect(runtime, target_name, parse_settings(crm_yaml(target_name, on_merge=on_merge), "test.yaml"))
    apply(runtime, job(ev.JobBooked, -300, 1), job(ev.JobBooked, -290, 2))
    crm.drain()
    survivor, duplicate = customer_id(runtime, 1), customer_id(runtime, 2)
    assert crm.view(duplicate).exists

    merge_id = _merge(runtime, survivor, duplicate)
    crm.drain()
    kept = crm.view(survivor)
    assert kept.exists and kept.merged_into is None
    assert kept.phone == in_store(runtime, lambda store: store.phones_of(survivor))[0]
    gone = crm.view(duplicate)
    if on_merge == "delete":
        assert not gone.exists
    else:
        assert gone.exists and gone.merged_into == survivor

    _unmerge(runtime, merge_id)
    crm.drain()
    back = crm.view(duplicate)
    assert back.exists and back.merged_into is None
    assert back.email == "owner2@example.com"
    assert [r.status for r in crm_rows(runtime)] == ["sent"] * len(crm_rows(runtime))


def test_a_consent_change_reaches_the_crm_where_it_has_a_property(runtime: Runtime, crm: Crm) -> None:
    """STOP from the customer's phone: the CRM's do-not-text property says so; START: it is lifted."""
    apply(runtime, job(ev.JobBooked, -300))
    crm.drain()
    me = customer_id(runtime, 1)
    assert crm.view(me).sms_opted_out is False
    phone = in_store(runtime, lambda store: store.phones_of(me))[0]

    apply(runtime, ev.OptedOut(source="twilio", occurred_at=at(-200), customer=None, address=phone, reason="STOP"))
    crm.drain()
    assert crm.view(me).sms_opted_out is True
    apply(runtime, ev.OptedIn(source="twilio", occurred_at=at(-100), customer=None, address=phone, reason="START"))
    crm.drain()
    assert crm.view(me).sms_opted_out is False


def test_a_mid_stream_outage_keeps_every_record_in_order(runtime: Runtime, crm: Crm) -> None:
    """Three homeowners' jobs run booked → paid; the target goes down after the bookings landed and comes back an
    hour later: the circuit held the rows, then every record got its newest state, and no stage went backwards."""
    clock = sim_clock(runtime)
    homeowners = (1, 2, 3)
    apply(runtime, *(job(ev.JobBooked, -300 + n, n, start=at(24 * 60)) for n in homeowners))
    crm.drain()
    crm.standin.down = True
    steps: list[Callable[[int, float], ev.JobEvent]] = [
        lambda n, m: job(ev.JobDispatched, m, n),
        lambda n, m: job(ev.JobCompleted, m, n),
        lambda n, m: job(ev.PaymentCaptured, m, n, amount_cents=45000),
    ]
    for step, make in enumerate(steps):
        clock.advance(60)
        apply(runtime, *(make(n, -200 + step * 10 + n) for n in homeowners), now=clock.now())
        crm.drain()
    assert crm.worker.breakers.is_open(crm.name)
    held = crm_rows(runtime)
    assert {r.status for r in held[len(homeowners) :]} == {"pending"}, "the outage lost and ended nothing"

    clock.advance(3600)
    crm.standin.down = False
    for _ in range(10):
        clock.advance(240)
        crm.drain()
        if all(r.status == "sent" for r in crm_rows(runtime)):
            break
    assert {r.status for r in crm_rows(runtime)} == {"sent"}
    with runtime.engine.connect() as conn:
        assert errors.list_errors(conn, runtime.settings.account_id) == []
    order = [stage.name for stage in runtime.settings.pipeline.stages]
    for n in homeowners:
        me = customer_id(runtime, n)
        view = crm.view(me)
        assert (view.stage, view.next_appointment_at) == ("Won", None)
        written = crm.standin.stages[me]
        assert [order.index(s) for s in written] == sorted(order.index(s) for s in written), written
    if crm.name == "webhook":
        assert crm.standin.dropped == 0
        for sequences in crm.standin.applied_sequences.values():
            assert sequences == sorted(sequences)


@pytest.mark.parametrize("target_name", ["webhook"])  # about texts, not a target: one is enough
def test_texts_go_to_the_primary_phone(runtime: Runtime, crm: Crm) -> None:
    """The review request after a payment goes to the phone the field tool named last, not the oldest."""
    apply(runtime, job(ev.JobBooked, -300))
    moved = person(1, phones=("+15125559876",))
    paid = ev.PaymentCaptured(
        source=HCP, occurred_at=at(-100), customer=moved, job=ev.JobSnapshot(external_id="job_1"), amount_cents=45000
    )
    apply(runtime, paid)
    sim_clock(runtime).advance(3600)
    crm.drain()
    (request,) = rows(runtime, messages, messages.c.purpose == "review_request")
    assert (request.customer_id, request.to_address) == (only_customer(runtime).id, "+15125559876")
    assert request.status in ("sent", "delivered")


def test_the_settings_variants_parse() -> None:
    """The variants these tests use are valid configuration (a typo would make every test above meaningless)."""
    for target in TARGETS:
        mark = parse_settings(crm_yaml(target), "t.yaml")
        assert mark.crm.targets == [target] and mark.crm.on_merge == "mark"
        assert parse_settings(crm_yaml(target, on_merge="delete"), "t.yaml").crm.on_merge == "delete"
        kept = parse_settings(crm_yaml(target, never_clear=True), "t.yaml").field_mapping.never_clear
        assert kept == {"next_appointment_at"}
