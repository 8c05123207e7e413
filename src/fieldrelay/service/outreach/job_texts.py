"""Job texts a field-mapping row can trigger: appointment confirmation, technician on the way, payment reminder.

Each is planned on a durable timer when its event is applied and re-checked when due: it goes out only if the job
still stands where that event left it (a reschedule since then sends its own confirmation instead; a payment
cancels the reminder), the customer has not opted out and a phone is on record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fieldrelay.domain.lifecycle import JobStatus
from fieldrelay.domain.money import dollars
from fieldrelay.service.changes import JobChanged
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.outreach import texts
from fieldrelay.service.records import JobRecord

JOB_TEXT = "job_text"
# Action → the job statuses in which the text still makes sense, and how the timeline names it.
TEXTS: dict[str, tuple[frozenset[str], str]] = {
    "confirmation_text": (frozenset({JobStatus.BOOKED, JobStatus.RESCHEDULED}), "Appointment confirmation"),
    "eta_text": (frozenset({JobStatus.DISPATCHED}), "On-the-way text"),
    "payment_reminder": (frozenset({JobStatus.INVOICED}), "Payment reminder"),
}


def on_job(ctx: HandlerContext, change: JobChanged) -> None:
    """Plan the texts the change's field-mapping row triggers: the job texts here, and the review request."""
    job = change.job
    if job is None:
        return
    for action in ctx.settings.field_mapping.row(change.event).trigger:
        if action == texts.REVIEW_REQUEST:
            texts.schedule_review_request(
                ctx, customer_id=change.customer_id, job_id=job.id, paid_at=change.occurred_at
            )
        elif action in TEXTS:
            schedule(ctx, action, customer_id=change.customer_id, job=job, trigger_at=change.occurred_at)


def schedule(ctx: HandlerContext, action: str, *, customer_id: str, job: JobRecord, trigger_at: datetime) -> None:
    """Plan the text ``delay_minutes`` after the event, once per job and event."""
    text = getattr(ctx.settings.job_texts, action)
    due = max(trigger_at + timedelta(minutes=text.delay_minutes), ctx.now)
    texts.plan_text(
        ctx,
        key=f"{action}:{job.id}:{trigger_at.isoformat()}",
        kind=JOB_TEXT,
        purpose=action,
        customer_id=customer_id,
        job_id=job.id,
        due=due,
        trigger_at=trigger_at,
        payload={"action": action, "status_at": trigger_at.isoformat()},
    )


def fire(ctx: HandlerContext, payload: Mapping[str, object]) -> None:
    """Send the text if the job still stands where its event left it, else cancel it with the reason."""
    store = ctx.store
    message = store.get_message(str(payload["message_id"]))
    job = store.get_job(str(payload["job_id"]))
    if message is None or job is None or message.status != "scheduled":
        return
    action = str(payload["action"])
    statuses, label = TEXTS[action]
    reason = None
    if job.status not in statuses:
        reason = f"the job is now {job.status}"
    elif job.status_at != datetime.fromisoformat(str(payload["status_at"])):
        reason = f"the job changed since (now {job.status} as of {job.status_at:%Y-%m-%d %H:%M}Z)"
    zone = ZoneInfo(ctx.settings.business.time_zone)
    appointment = f"{job.scheduled_start.astimezone(zone):%a %b %-d at %-I:%M %p}" if job.scheduled_start else None
    balance = dollars(job.balance_cents) if job.balance_cents else None
    texts.send_or_cancel(
        ctx,
        message,
        reason,
        label,
        getattr(ctx.settings.job_texts, action).template,
        service=job.service_type,
        appointment=appointment,
        technician=", ".join(job.technicians) or None,
        balance=balance,
    )
