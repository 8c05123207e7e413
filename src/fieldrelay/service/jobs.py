"""Job handler: move jobs along their lifecycle; never let an older event roll a newer state back."""

from __future__ import annotations

from fieldrelay.domain import events as ev
from fieldrelay.domain.lifecycle import JobStatus, job_status_for, supersedes
from fieldrelay.service import customers, followups
from fieldrelay.service.context import ConcurrentChange, HandlerContext

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


def _money(cents: int | None) -> str:
    return f" (${cents / 100:,.2f})" if cents is not None else ""


def on_job_event(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """Apply a job lifecycle event to the mirror, scheduling what the new state triggers."""
    assert isinstance(event, ev.JobEvent)
    store = ctx.store
    status = job_status_for(event)
    snap = event.job
    job = store.job_by_external(event.source, snap.external_id)
    customer_id = customers.for_event(ctx, event, job.customer_id if job else None, f"job {snap.external_id}")

    amount = getattr(event, "amount_cents", None)
    summary = f"{_SUMMARY[status]}{_money(amount if amount is not None else snap.total_cents)}"
    if isinstance(event, ev.JobCancelled) and event.reason:
        summary += f": {event.reason}"
    kind = f"job.{status.value}"
    values = {**_details(snap), "status": status.value, "status_at": event.occurred_at}
    if status is JobStatus.PAID:
        values.update(paid_at=event.occurred_at, balance_cents=0)

    if job is None:
        job_id = store.insert_job({**values, "customer_id": customer_id})
        if not store.link_external(event.source, "job", snap.external_id, job_id):
            raise ConcurrentChange(f"job {snap.external_id} was created by another worker")
    elif supersedes(event.occurred_at, status, job.status_at, job.status):
        job_id = job.id
        store.update_job(job_id, values)
    else:
        store.add_activity(
            customer_id,
            event.occurred_at,
            kind,
            f"{summary} — not applied: the job is already {job.status} as of a later event",
            event.source,
            False,
        )
        return

    store.add_activity(customer_id, event.occurred_at, kind, summary, event.source, True)
    customers.refresh_stage(ctx, customer_id)
    if status is JobStatus.PAID:
        followups.schedule_review_request(ctx, customer_id=customer_id, job_id=job_id, paid_at=event.occurred_at)


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
    return result
