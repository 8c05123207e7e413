"""Stale records: customers whose CRM lags a field event about them by more than the configured time.

A customer is stale at ``now`` when a field event about them was received more than ``stale_after`` ago and the
mirror does not reflect it yet: the inbox row carrying it is not finished (pending, processing, error, dead), or it
is finished but the job status the events add up to (folded with the handlers' own rule) is not in the mirror.
Everything here is pure: storage passes plain facts through the ``StalenessFacts`` port, no SQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from fieldrelay.domain import events as ev
from fieldrelay.domain.lifecycle import JobStatus, job_status_for, supersedes
from fieldrelay.service.crm.ports import MirroredJob, StalenessFacts, StoredDelivery, VendorLink
from fieldrelay.service.ports import InboundConnector, ParseError, Received

# Inbox statuses whose events the worker is through with: applied ("done") or deliberately unused ("ignored").
FINISHED = frozenset({"done", "ignored"})

# A vendor record reference: (connector, kind, vendor id), kind as in external_ids ("customer", "job" …).
Ref = tuple[str, str, str]


@dataclass(frozen=True)
class ReceivedEvent:
    """A canonical event re-read from a stored delivery, with that inbox row's id, status and receive time."""

    event: ev.FieldEvent
    row_id: int
    status: str
    received_at: datetime
    error: str | None = None


@dataclass(frozen=True)
class StaleRecord:
    """A customer (or a vendor record the mirror does not know) whose CRM lags a field event."""

    customer_id: str | None  # the mirror's id; None when the event's customer is not in the mirror
    label: str  # the vendor reference the office can look up, e.g. "housecallpro customer cus_1"
    reason: str
    since: datetime  # received time of the oldest event the CRM does not reflect
    lag_minutes: float


@dataclass(frozen=True)
class Staleness:
    """The outcome of one check: stale records out of all records that have had field events."""

    checked_at: datetime
    stale_after_minutes: float
    records: int
    stale: tuple[StaleRecord, ...]

    @property
    def rate(self) -> float:
        """Stale records as a share of records with field events (0 when there are none)."""
        return len(self.stale) / self.records if self.records else 0.0


class _Unreflected(NamedTuple):
    received_at: datetime
    reason: str


def stale_records(
    facts: StalenessFacts, inbound: Mapping[str, InboundConnector], now: datetime, stale_after_minutes: float
) -> Staleness:
    """The stale-record check on what the database holds: stored deliveries re-read, vendor links, mirrored jobs."""
    return check_staleness(
        received_events(facts.deliveries(), inbound),
        customer_owners(facts.vendor_links(), facts.merged_into()),
        facts.mirrored_jobs(),
        now,
        stale_after_minutes,
    )


def received_events(
    deliveries: Iterable[StoredDelivery], inbound: Mapping[str, InboundConnector]
) -> Iterator[ReceivedEvent]:
    """Re-read stored deliveries into canonical events, each with its row's id, status and receive time.

    Unreadable deliveries are skipped: they are in the error queue already, and name no record to count.
    """
    for row in deliveries:
        connector = inbound.get(row.connector)
        # A connector whose parse fetches from the vendor's API (Jobber) is not re-read: a report makes no calls.
        if connector is None or getattr(connector, "parse_calls_vendor", False):
            continue
        try:
            parsed = connector.parse(row.body, Received(at=row.received_at, headers=row.headers))
        except ParseError:
            continue
        for event in parsed.events:
            yield ReceivedEvent(event, row.row_id, row.status, row.received_at, row.error)


def customer_owners(links: Iterable[VendorLink], merged_into: Mapping[str, str]) -> dict[Ref, str]:
    """The mirror customer behind every vendor customer, job, estimate and payment id, merges followed."""
    owners: dict[Ref, str] = {}
    for link in links:
        # A payment link points at the job it paid, or at the customer it was matched to when no job was open.
        owner = (
            link.job_customer
            or link.estimate_customer
            or (link.entity_id if link.kind in ("customer", "payment") else None)
        )
        if owner is not None:
            owners[(link.connector, link.kind, link.external_id)] = _survivor(owner, merged_into)
    return owners


def _survivor(customer_id: str, merged: Mapping[str, str]) -> str:
    """Follow merges to the record that holds a merged customer now (guarding against a cycle)."""
    seen = {customer_id}
    while customer_id in merged and merged[customer_id] not in seen:
        customer_id = merged[customer_id]
        seen.add(customer_id)
    return customer_id


def references(event: ev.FieldEvent, row_id: int) -> list[Ref]:
    """Vendor references naming the customer an event is about, best first; empty when it is about no customer.

    Message receipts, replies and consent changes carry no customer reference and are not field events about a
    record, so they are left out. A customer snapshot without an id falls back to its delivery, so that even a
    record nobody can name is counted rather than dropped.
    """
    refs: list[Ref] = []
    if event.customer is not None and event.customer.external_id.strip():
        refs.append((event.source, "customer", event.customer.external_id))
    if isinstance(event, ev.JobEvent) and event.job.external_id:
        refs.append((event.source, "job", event.job.external_id))
    if isinstance(event, ev.EstimateEvent) and event.estimate.external_id:
        refs.append((event.source, "estimate", event.estimate.external_id))
    if isinstance(event, ev.PaymentReceived | ev.PaymentRefunded):
        # The payment processor's payer id is never linked; the job it names, or the payment link the handler
        # wrote (to the job or the customer it matched by contact), says whose it is.
        if event.job_ref and event.job_source:
            refs.append((event.job_source, "job", event.job_ref))
        if event.payment_ref:
            refs.append((event.source, "payment", event.payment_ref))
    if not refs and event.customer is not None:
        refs.append((event.source, "delivery", str(row_id)))
    return refs


def expected_job_states(
    received: Iterable[ReceivedEvent],
) -> dict[tuple[str, str], tuple[JobStatus, datetime, ReceivedEvent]]:
    """Fold job events with the same rule the handlers use: newest event wins, later stage on a tie."""
    states: dict[tuple[str, str], tuple[JobStatus, datetime, ReceivedEvent]] = {}
    for item in received:
        event = item.event
        if not isinstance(event, ev.JobEvent) or not event.job.external_id:
            continue
        key = (event.source, event.job.external_id)
        status = job_status_for(event)
        current = states.get(key)
        if current is None or supersedes(event.occurred_at, status, current[1], current[0]):
            states[key] = (status, event.occurred_at, item)
    return states


def mirror_reflects(mirrored: MirroredJob | None, expected: JobStatus, expected_at: datetime) -> bool:
    """Whether the mirror holds the expected job state, or one that replaced it by the handlers' rule.

    A mirror ahead of the re-read events is not stale: a newer event moved the job, e.g. a payment processor's
    payment marking it paid, or a connector whose deliveries a report does not re-read.
    """
    if mirrored is None:
        return False
    if mirrored.status == expected.value:
        return True
    return supersedes(mirrored.status_at, mirrored.status, expected_at, expected)


def _row_reason(item: ReceivedEvent) -> str:
    since = f"{item.received_at:%Y-%m-%d %H:%M}Z"
    if item.status in ("error", "dead"):
        detail = f": {item.error}" if item.error else ""
        return f"webhook in error queue since {since}{detail}"
    return f"{item.status} since {since}"


def check_staleness(
    received: Iterable[ReceivedEvent],
    owners: Mapping[Ref, str],
    jobs: Mapping[tuple[str, str], MirroredJob],
    now: datetime,
    stale_after_minutes: float,
) -> Staleness:
    """Find the stale records among everyone field events were received about.

    ``owners`` maps vendor references to the mirror customer they belong to (merges already followed);
    ``jobs`` maps (connector, vendor job id) to the job's mirror state. A record is keyed by its mirror customer,
    else by its first vendor reference: an event whose customer is not in the mirror is a record of its own, so
    a webhook that never attached to anyone still counts against the rate.
    """
    items = list(received)
    labels: dict[str, str] = {}
    known: dict[str, bool] = {}
    record_of: dict[int, str] = {}  # id(item) → record key
    unreflected: dict[str, list[_Unreflected]] = defaultdict(list)
    for item in items:
        refs = references(item.event, item.row_id)
        if not refs:
            continue
        customer_id = next((owners[ref] for ref in refs if ref in owners), None)
        key = customer_id if customer_id is not None else "\x00".join(refs[0])
        labels.setdefault(key, " ".join(refs[0]))
        known[key] = customer_id is not None
        record_of[id(item)] = key
        if item.status not in FINISHED:
            unreflected[key].append(_Unreflected(item.received_at, _row_reason(item)))

    for job_key, (status, at, item) in expected_job_states(items).items():
        # An unfinished row is already counted above, with the row's own reason.
        if item.status not in FINISHED or id(item) not in record_of:
            continue
        mirrored = jobs.get(job_key)
        if not mirror_reflects(mirrored, status, at):
            says = mirrored.status if mirrored else "no such job"
            reason = f"mirror says {says}, latest event says {status.value} as of {at:%Y-%m-%d %H:%M}Z"
            unreflected[record_of[id(item)]].append(_Unreflected(item.received_at, reason))

    threshold = timedelta(minutes=stale_after_minutes)
    stale: list[StaleRecord] = []
    for key, pending in unreflected.items():
        oldest = min(pending)
        lag = now - oldest.received_at
        # Strictly older than the threshold: anything younger is still in flight.
        if lag > threshold:
            customer = key if known[key] else None
            stale.append(
                StaleRecord(customer, labels[key], oldest.reason, oldest.received_at, lag / timedelta(minutes=1))
            )
    stale.sort(key=lambda r: (r.since, r.label))
    return Staleness(now, stale_after_minutes, len(labels), tuple(stale))
