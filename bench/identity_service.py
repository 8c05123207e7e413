"""The service-level identity run: synthetic records through the real intake (bus, SQLite), against ``Matcher``.

Each record becomes a ``LeadReceived`` (a marketplace record names its marketplace as lead source) applied in its own
transaction, as the worker does; afterwards each record's customer is followed through merges. The same records
stream through the in-memory matcher (bench/identity.py ``stream``). The two partitions of records into people must
be equal; the pairs where they differ are counted and the first few printed (record ids and person ids only).
"""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from sqlalchemy import select

from fieldrelay.domain import events as ev
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.loader import load_settings
from fieldrelay.runtime import build_runtime
from fieldrelay.service import bus
from fieldrelay.storage.tables import customers, external_ids, merge_candidates
from identity import MARKETPLACES, clusters, pairs_within, stream, synthetic_people
from identity_data import Record, generate

START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def snapshot(r: Record) -> ev.CustomerSnapshot:
    address = ev.Address(street=r.street, unit=r.unit, city=r.city, state=r.state, postal_code=r.postal_code)
    return ev.CustomerSnapshot(
        external_id=f"rec_{r.record_id}",
        first_name=r.first_name,
        last_name=r.last_name,
        phones=r.phones,
        emails=r.emails,
        address=None if address.is_empty() else address,
        lead_source=MARKETPLACES[r.record_id % len(MARKETPLACES)] if r.source == "marketplace" else None,
    )


def run_service(size: int, seed: int, console: Console) -> bool:
    """Stream ``size`` records through the intake and the matcher; True when both made the same people."""
    records = generate(size, seed)
    with tempfile.TemporaryDirectory() as tmp:
        runtime = build_runtime(
            f"sqlite:///{Path(tmp) / 'identity.db'}", clock=SimulatedClock(START), settings=load_settings(None)
        )
        started = time.perf_counter()
        for i, r in enumerate(records):
            at = START + timedelta(seconds=i)
            lead = ev.LeadReceived(
                source="forms", occurred_at=at, customer=snapshot(r), lead_ref=f"rec_{r.record_id}", channel="bench"
            )
            with runtime.unit_of_work(runtime.settings.account_id) as ctx:
                bus.apply(ctx, lead)
        seconds = time.perf_counter() - started
        with runtime.engine.connect() as conn:
            entity = {
                row.external_id: row.entity_id
                for row in conn.execute(select(external_ids.c.external_id, external_ids.c.entity_id))
            }
            merged_into = {
                row.id: row.merged_into for row in conn.execute(select(customers.c.id, customers.c.merged_into))
            }
            queued_ids = {row.customer_id for row in conn.execute(select(merge_candidates.c.customer_id))}
        runtime.engine.dispose()

    def live(customer_id: str) -> str:
        while merged_into.get(customer_id):
            customer_id = merged_into[customer_id]
        return customer_id

    service_of = {str(r.record_id): live(entity[f"rec_{r.record_id}"]) for r in records}
    reviews = {str(r.record_id) for r in records if entity[f"rec_{r.record_id}"] in queued_ids}
    matcher = stream(synthetic_people(records))
    service_pairs = pairs_within(clusters(service_of))
    matcher_pairs = pairs_within(clusters(matcher.person_of))
    truth_groups: dict[int, list[str]] = defaultdict(list)
    for r in records:
        truth_groups[r.person_id].append(str(r.record_id))
    truth = pairs_within(truth_groups.values())
    differ = service_pairs ^ matcher_pairs
    queued_differ = reviews ^ matcher.queued
    console.print(
        f"service (intake on SQLite, {size} records, seed {seed}, {seconds / size * 1000:.1f} ms/record): "
        f"{len(service_pairs)} merged pairs ({len(service_pairs & truth)} true), {len(reviews)} records queued; "
        f"matcher: {len(matcher_pairs)} merged pairs ({len(matcher_pairs & truth)} true), {matcher.reviews} to review; "
        + ("[green]same people[/green]" if not differ else f"[red]{len(differ)} pairs differ[/red]")
        + (
            ""
            if not queued_differ
            else f", {len(queued_differ)} records queued by one only: {sorted(queued_differ)[:5]}"
        )
    )
    for pair in sorted(differ, key=sorted)[:5]:
        a, b = sorted(pair)
        console.print(f"  records {a} and {b}: {'service' if pair in service_pairs else 'matcher'} merged them")
    for record_id in sorted(queued_differ)[:5]:
        console.print(f"  record {record_id}: queued by the {'service' if record_id in reviews else 'matcher'} only")
    return not differ and not queued_differ
