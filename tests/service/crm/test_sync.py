"""Mapped changes queued for the outside CRMs: one row per target and change, in the handler's transaction."""

from __future__ import annotations

from typing import Any

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.service.crm import sync
from fieldrelay.service.crm.targets import CRM_SYNC, CrmChange, from_payload
from fieldrelay.storage.tables import outbox
from tests.conftest import START, TEST_YAML
from tests.service.support import PAT_E164, apply, at, in_store, job_event, only_customer, rows

CRM_YAML = (
    TEST_YAML
    + """
crm:
  targets: [hubspot, webhook]
  webhook: {url: "https://hooks.example.test/fieldrelay"}
"""
)


@pytest.fixture
def settings() -> Settings:
    """The test settings writing to HubSpot and a signed webhook."""
    return parse_settings(CRM_YAML, "test.yaml")


def crm_rows(runtime: Runtime, target: str | None = None) -> list[Any]:
    """The crm.sync outbox rows, oldest first, of one target or all."""
    where = [outbox.c.kind == CRM_SYNC]
    if target is not None:
        where.append(outbox.c.target == target)
    return rows(runtime, outbox, *where)


def delivered(runtime: Runtime, row: Any) -> CrmChange:
    """The change a row would deliver now: what it queued, with the customer as they stand."""
    queued = from_payload(row.payload)
    return in_store(runtime, lambda store: sync.current(store, runtime.settings, row.target, queued))


def test_each_mapped_event_queues_one_change_per_target(runtime: Runtime) -> None:
    """Booked then paid: two changes for each target; delivered, each carries the contact and the fields as they
    stand."""
    apply(runtime, job_event(ev.JobBooked, at(-120)))
    apply(runtime, job_event(ev.PaymentCaptured, at(-1), amount_cents=45000))
    customer = only_customer(runtime)

    hubspot = crm_rows(runtime, "hubspot")
    assert [r.target for r in crm_rows(runtime)] == ["hubspot", "webhook", "hubspot", "webhook"]
    assert {r.ordering_key for r in hubspot} == {f"hubspot:customer:{customer.id}"}
    booked, paid = (delivered(runtime, r) for r in hubspot)
    assert (booked.event, paid.event) == ("job.booked", "job.paid")
    assert booked.key == hubspot[0].idempotency_key and booked.key.startswith("crm:hubspot:")
    assert "contact" not in hubspot[0].payload, "a row holds what changed and when, not a snapshot of the state"
    assert booked.sequence == paid.sequence == hubspot[1].id, "both read the state as of the newest change"
    assert (paid.contact.fieldrelay_id, paid.contact.first_name, paid.contact.phone) == (customer.id, "Pat", PAT_E164)
    assert paid.contact.email == "pat.doe@example.com"
    assert paid.fields["account_status"] == "active"
    assert set(paid.changed) == {"account_status", "last_paid_at", "balance_cents"}
    assert "service_history" not in paid.fields, "fieldrelay's own structures stay home"
    assert paid.deal is not None and (paid.deal.stage, paid.deal.is_open) == ("won", False)
    assert paid.deal.stage_name == "Won" and paid.deal.value_cents == 45000
    assert paid.note is not None and paid.note.at == at(-1)


def test_an_event_applied_twice_queues_its_change_once(runtime: Runtime) -> None:
    """The idempotency key is the change's: a redelivered event adds no second write."""
    paid = job_event(ev.PaymentCaptured, at(-1), amount_cents=45000)
    apply(runtime, paid)
    apply(runtime, paid)
    assert len(crm_rows(runtime)) == 2


def test_no_targets_queue_nothing(db_url: str, secrets_env: None) -> None:
    """A shop on the built-in CRM alone has no crm.sync rows."""
    settings = parse_settings(TEST_YAML, "test.yaml")
    plain = build_runtime(db_url, settings=settings, clock=SimulatedClock(START), migrate=False)
    try:
        apply(plain, job_event(ev.PaymentCaptured, at(-1), amount_cents=45000))
        assert crm_rows(plain) == []
    finally:
        plain.engine.dispose()
