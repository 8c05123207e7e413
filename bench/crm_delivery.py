"""CRM delivery benchmark: what reading the customer's current state at each delivery costs.

Prints figures; never asserts a timing. Queues ``--customers`` times 3 job events (booked, completed, paid) for one
outside CRM on a fresh temporary SQLite file (or the database ``--db`` names, which must be empty or migratable),
then delivers the same rows twice to a target that only counts them:

- **current state** (what fieldrelay does): every row is rebuilt from the customer's record as it stands
  (service/crm/sync.py ``current``);
- **stored state** (the baseline, measured in the same run): the same rows, each handed a change built once before
  the clock starts, as when a row carried a snapshot of the state it was queued with.

    .venv/bin/python bench/crm_delivery.py [--customers 300] [--db URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from fieldrelay.connectors.devmail.outbound import DevMailSender
from fieldrelay.connectors.devsms.outbound import DevSmsSender
from fieldrelay.domain import events as ev
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.worker import Worker
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.service import bus
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.crm import sync
from fieldrelay.service.crm.targets import CRM_SYNC, CrmChange, CrmWriteResult, from_payload
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import outbox

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
YAML = """
account_id: default
business: {name: Bench Plumbing, time_zone: America/Chicago}
sequences: {}
crm:
  targets: [webhook]
  webhook: {url: "https://hooks.example.test/fieldrelay"}
"""


class CountingTarget:
    """A CRM target that takes every change and counts it."""

    name = "webhook"

    def __init__(self) -> None:
        self.written = 0

    def write(self, change: CrmChange) -> CrmWriteResult:
        self.written += 1
        return CrmWriteResult(remote_id=change.contact.fieldrelay_id, detail="counted")


def queue_changes(runtime: Runtime, customers: int) -> None:
    """Apply booked, completed and paid for each customer, one transaction per event (as the worker does)."""
    kinds: tuple[type[ev.JobEvent], ...] = (ev.JobBooked, ev.JobCompleted, ev.PaymentCaptured)
    for step, kind in enumerate(kinds):
        for n in range(customers):
            customer = ev.CustomerSnapshot(
                external_id=f"cus_{n}",
                first_name=f"Owner{n}",
                last_name="Homes",
                phones=(f"+1512555{n:04d}",),
                emails=(f"owner{n}@example.com",),
            )
            event = kind(
                source="housecallpro",
                occurred_at=START + timedelta(minutes=step * 60, seconds=n),
                customer=customer,
                job=ev.JobSnapshot(external_id=f"job_{n}", service_type="Drain cleaning", total_cents=45000),
                **({"amount_cents": 45000} if kind is ev.PaymentCaptured else {}),
            )
            with runtime.engine.begin() as conn:
                ctx = HandlerContext(SqlMirror(conn, "default", START), START, runtime.settings)
                bus.apply(ctx, event)


def reset(runtime: Runtime) -> None:
    """Every CRM row pending again, due now."""
    with runtime.engine.begin() as conn:
        conn.execute(
            update(outbox)
            .where(outbox.c.kind == CRM_SYNC)
            .values(status="pending", attempts=0, next_attempt_at=runtime.clock.now(), sent_at=None)
        )


def deliver(runtime: Runtime) -> tuple[int, float]:
    """Deliver every pending CRM row; how many were written and how long it took (seconds)."""
    target = CountingTarget()
    clock = runtime.clock
    assert isinstance(clock, SimulatedClock)
    worker = Worker(
        runtime.engine,
        runtime.settings,
        clock,
        runtime.inbound,
        DevSmsSender(runtime.dev_sink, clock),
        "bench",
        email=DevMailSender(runtime.dev_sink, clock),
        crm={"webhook": target},
    )
    t0 = time.perf_counter()
    assert worker.drain(3600)
    return target.written, time.perf_counter() - t0


def stored_state(runtime: Runtime) -> Callable[..., CrmChange]:
    """A stand-in for ``sync.current`` handing each row a change built before the clock starts."""
    built: dict[str, CrmChange] = {}
    with runtime.engine.connect() as conn:
        store = SqlMirror(conn, "default", START)
        for row in conn.execute(outbox.select().where(outbox.c.kind == CRM_SYNC)):
            queued = from_payload(row.payload)
            built[queued.key] = sync.current(store, runtime.settings, row.target, queued)

    def current(_store: Any, _settings: Any, _target: str, queued: Any) -> CrmChange:
        return built[queued.key]

    return current


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--db", help="database URL (default: a fresh temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
        runtime = build_runtime(url, settings=parse_settings(YAML, "bench.yaml"), clock=SimulatedClock(START))
        try:
            queue_changes(runtime, args.customers)
            reset(runtime)
            rows, current_s = deliver(runtime)
            reset(runtime)
            original = sync.current
            # The engine calls sync.current at each delivery (engine/crm_delivery.py): swapped for the baseline.
            setattr(sync, "current", stored_state(runtime))  # noqa: B010
            try:
                base_rows, stored_s = deliver(runtime)
            finally:
                setattr(sync, "current", original)  # noqa: B010
        finally:
            runtime.engine.dispose()
    assert rows == base_rows == args.customers * 3, (rows, base_rows)
    print(f"database: {runtime.engine.dialect.name}; {rows} CRM rows ({args.customers} customers x 3 events)")
    print(f"{'':<28}{'rows/s':>10}{'ms/row':>10}")
    for label, seconds in (("current state (fieldrelay)", current_s), ("stored state (baseline)", stored_s)):
        print(f"{label:<28}{rows / seconds:>10.0f}{seconds * 1000 / rows:>10.2f}")
    print(f"cost of reading the current state: {(current_s - stored_s) * 1000 / rows:.2f} ms per row")


if __name__ == "__main__":
    main()
