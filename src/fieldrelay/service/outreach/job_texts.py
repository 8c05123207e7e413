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
from fieldrelay.service.outreach.intents import Intent, intent_prefix
from fieldrelay.service.records import JobRecord, MessageRecord

JOB_TEXT = "job_text"
# Confirmations and "moved to" texts share one family: what the customer was told about when we come.
_APPOINTMENT = "appointment"
MOVED = "appointment_moved"  # the purpose of a confirmation that, when due, told of a new time instead
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
    template = getattr(ctx.settings.job_texts, action).template
    intent = Intent(action, f"job:{job.id}")
    if action == "eta_text":
        intent = Intent(action, f"job:{job.id}@{job.status_at.isoformat()}")  # one per dispatch
    elif action == "confirmation_text" and reason is None:
        if job.scheduled_start is None and _waits_for_time(ctx, message, payload):
            return
        told = _announced(ctx, message.customer_id, job)
        when = job.scheduled_start.isoformat() if job.scheduled_start else "unset"
        if told and told[-1] == when:
            reason = "the customer was already told this appointment time"
        # The first text about the appointment confirms it; each later new time says it moved (once per change).
        intent = Intent(_APPOINTMENT, f"job:{job.id}@{when}#{len(told)}")
        if told:
            template, label = ctx.settings.job_texts.moved_text.template, "Appointment change"
            ctx.store.update_message(message.id, {"purpose": MOVED})  # what it turned out to be, for the timeline
    zone = ZoneInfo(ctx.settings.business.time_zone)
    appointment = f"{job.scheduled_start.astimezone(zone):%a %b %-d at %-I:%M %p}" if job.scheduled_start else None
    balance = dollars(job.balance_cents) if job.balance_cents else None
    texts.send_or_cancel(
        ctx,
        message,
        reason,
        label,
        template,
        intent,
        service=job.service_type,
        appointment=appointment,
        technician=", ".join(job.technicians) or None,
        balance=balance,
    )


def _waits_for_time(ctx: HandlerContext, message: MessageRecord, payload: Mapping[str, object]) -> bool:
    """A confirmation with no time yet waits once for it; True when it was put back to wait."""
    wait = timedelta(minutes=ctx.settings.job_texts.wait_for_time_minutes)
    if wait <= timedelta(0) or payload.get("waited"):
        return False
    due = texts.within_text_hours(ctx, message.customer_id, ctx.now + wait)
    key = f"{JOB_TEXT}:waited:{message.id}"
    ctx.store.schedule_timer(key, JOB_TEXT, due, message.customer_id, {**payload, "waited": True})
    ctx.store.update_message(message.id, {"scheduled_for": due})
    return True


def _announced(ctx: HandlerContext, customer_id: str, job: JobRecord) -> list[str]:
    """The appointment times the customer was sent about the job, oldest first ("unset" for none)."""
    prefix = intent_prefix(customer_id, _APPOINTMENT, f"job:{job.id}@")
    return [key[len(prefix) :].split("#", 1)[0] for key in ctx.store.intents_of(customer_id, prefix)]
