"""Job handler: move jobs along their lifecycle; never let an older event roll a newer state back."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from fieldrelay.domain import events as ev
from fieldrelay.domain.lifecycle import JobStatus, job_status_for, supersedes
from fieldrelay.domain.money import dollars
from fieldrelay.service.changes import JobChanged
from fieldrelay.service.context import ConcurrentChange, HandlerContext
from fieldrelay.service.intake import customers
from fieldrelay.service.records import JobRecord

_SUMMARY = {
    JobStatus.BOOKED: "Job booked",
    JobStatus.RESCHEDULED: "Job rescheduled",
    JobStatus.DISPATCHED: "Technician on the way",
    JobStatus.ARRIVED: "Technician arrived",
    JobStatus.COMPLETED: "Job completed",
    JobStatus.INVOICED: "Invoice issued",
    JobStatus.PAID: "Payment captured",
    JobStatus.CANCELLED: "Job cancelled",
}


def money(cents: int | None) -> str:
    """ " ($1,234.50)" for an amount in cents, nothing when unknown."""
    return f" ({dollars(cents)})" if cents is not None else ""


def on_job_event(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """Apply a job lifecycle event to the mirror, scheduling what the new state triggers."""
    assert isinstance(event, ev.JobEvent)
    store = ctx.store
    status = job_status_for(event)
    snap = event.job
    job = store.job_by_external(event.source, snap.external_id)
    customer_id = customers.for_event(ctx, event, job.customer_id if job else None, f"job {snap.external_id}")

    amount = getattr(event, "amount_cents", None)
    summary = f"{_SUMMARY[status]}{money(amount if amount is not None else snap.total_cents)}"
    if isinstance(event, ev.JobCancelled) and event.reason:
        summary += f": {event.reason}"
    values = {**_details(snap), "status": status.value, "status_at": event.occurred_at}
    if job is None:
        values.update(_paid(status, event.occurred_at))
        # A new job keeps its line items from the start, none when the event names none (NULL: stored before 0008).
        job_id = store.insert_job({"line_items": [], **values, "customer_id": customer_id})
        if not store.link_external(event.source, "job", snap.external_id, job_id):
            raise ConcurrentChange(f"job {snap.external_id} was created by another worker")
        written = JobRecord(
            id=job_id,
            customer_id=customer_id,
            status="",
            status_at=event.occurred_at,
            service_type=None,
            total_cents=None,
            paid_at=None,
            line_items=(),
        )
        _after_change(ctx, _as_written(written, values), status, event.occurred_at, summary, event.source, event)
    else:
        advance(ctx, job, status, event.occurred_at, values, summary, event.source, event)


def advance(
    ctx: HandlerContext,
    job: JobRecord,
    status: JobStatus,
    occurred_at: datetime,
    values: dict[str, object],
    summary: str,
    source: str,
    event: ev.FieldEvent | None = None,
) -> bool:
    """Move a known job to ``status`` unless a later event already moved it further; False when not applied.

    ``event`` is the job event that says so (its snapshot feeds the field mapping); a payment matched by the
    payment processor passes its own event.
    """
    if not supersedes(occurred_at, status, job.status_at, job.status):
        ctx.store.add_activity(
            job.customer_id,
            occurred_at,
            f"job.{status.value}",
            f"{summary} — not applied: the job is already {job.status} as of a later event",
            source,
            False,
        )
        return False
    written = {**values, "status": status.value, "status_at": occurred_at, **_paid(status, occurred_at)}
    ctx.store.update_job(job.id, written)
    _after_change(ctx, _as_written(job, written), status, occurred_at, summary, source, event)
    return True


def _paid(status: JobStatus, occurred_at: datetime) -> dict[str, object]:
    # A payment closes the balance in the same write as the status, so no reader sees "paid" with money owed.
    return {"paid_at": occurred_at, "balance_cents": 0} if status is JobStatus.PAID else {}


# JobRecord fields a job write may set (a column and its field share a name); the ids are never written over.
_RECORD_FIELDS = frozenset(field.name for field in dataclasses.fields(JobRecord)) - {"id", "customer_id"}


def _as_written(job: JobRecord, values: dict[str, object]) -> JobRecord:
    """The job as it stands after writing ``values`` over ``job``, without reading it back (as the mirror returns
    it: times in UTC, lists as tuples)."""
    fields: dict[str, object] = {}
    for name, value in values.items():
        if name not in _RECORD_FIELDS:
            continue
        if isinstance(value, datetime):
            value = value.astimezone(UTC)
        elif isinstance(value, list):
            value = tuple(value)
        fields[name] = value
    return dataclasses.replace(job, **fields)  # type: ignore[arg-type]


def _after_change(
    ctx: HandlerContext,
    job: JobRecord,
    status: JobStatus,
    occurred_at: datetime,
    summary: str,
    source: str,
    event: ev.FieldEvent | None,
) -> None:
    customer_id, job_id = job.customer_id, job.id
    ctx.store.add_activity(customer_id, occurred_at, f"job.{status.value}", summary, source, True)
    customers.refresh_stage(ctx, customer_id)
    amount = getattr(event, "amount_cents", None)
    ctx.publish(
        JobChanged(
            customer_id,
            occurred_at,
            event=f"job.{status.value}",
            source=source,
            summary=summary,
            record_id=job_id,
            job=job,
            job_snapshot=event.job if isinstance(event, ev.JobEvent) else None,
            amount_cents=amount,
            value_cents=amount if amount is not None else job.total_cents,
            reason=event.reason if isinstance(event, ev.JobCancelled) else None,
        )
    )


def _details(snap: ev.JobSnapshot) -> dict[str, object]:
    values: dict[str, object] = {
        "description": snap.description,
        "service_type": snap.service_type,
        "scheduled_start": snap.scheduled_start,
        "scheduled_end": snap.scheduled_end,
        "total_cents": snap.total_cents,
        "balance_cents": snap.balance_cents,
    }
    result = {k: v for k, v in values.items() if v is not None}
    if snap.technicians:
        result["technicians"] = list(snap.technicians)
    if snap.line_items:  # kept for the events that carry no snapshot (a payment matched by the payment processor)
        result["line_items"] = list(snap.line_items)
    return result
