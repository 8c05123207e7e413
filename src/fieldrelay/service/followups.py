"""Follow-ups on durable timers: the review request after a payment is captured."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from jinja2.sandbox import SandboxedEnvironment

from fieldrelay.domain.lifecycle import JobStatus
from fieldrelay.service.context import HandlerContext

REVIEW_REQUEST = "review_request"
SMS_TARGET = "sms"

# Templates are the shop's text; the sandbox keeps a template from reaching into Python objects.
_TEMPLATES = SandboxedEnvironment(autoescape=False)


def schedule_review_request(ctx: HandlerContext, *, customer_id: str, job_id: str, paid_at: datetime) -> None:
    """Plan the review-request text for ``delay_minutes`` after the payment: one per job, ever."""
    store = ctx.store
    # Counted from the payment, not from when the webhook arrived; a late webhook sends as soon as it can.
    due = max(paid_at + timedelta(minutes=ctx.settings.review_request.delay_minutes), ctx.now)
    key = f"{REVIEW_REQUEST}:{job_id}"
    message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fieldrelay:{ctx.settings.account_id}:{key}"))
    if not store.schedule_timer(key, REVIEW_REQUEST, due, customer_id, {"job_id": job_id, "message_id": message_id}):
        return  # already planned for this job (a second payment event for it): the first plan stands
    phones = store.phones_of(customer_id)
    store.insert_message(
        {
            "id": message_id,
            "customer_id": customer_id,
            "job_id": job_id,
            "channel": "sms",
            "purpose": REVIEW_REQUEST,
            "to_address": phones[0] if phones else "",
            "body": "",
            "status": "scheduled",
            "scheduled_for": due,
            "trigger_at": paid_at,
        }
    )


def fire_review_request(ctx: HandlerContext, payload: Mapping[str, object]) -> None:
    """Re-check the conditions against the mirror now, then queue the text or cancel it with a reason."""
    store = ctx.store
    message = store.get_message(str(payload["message_id"]))
    job = store.get_job(str(payload["job_id"]))
    if message is None or job is None or message.status != "scheduled":
        return
    customer = store.get_customer(message.customer_id)
    phones = store.phones_of(customer.id)
    reason = None
    if job.status != JobStatus.PAID:
        reason = f"the job is now {job.status}"
    elif customer.sms_opted_out or ctx.store.is_opted_out("sms", phones[0] if phones else ""):
        reason = "the customer opted out of texts"
    elif not phones:
        reason = "no phone number on record"
    if reason:
        store.update_message(message.id, {"status": "cancelled"})
        store.add_activity(
            customer.id,
            ctx.now,
            "message.cancelled",
            f"Review request not sent: {reason}",
            "fieldrelay",
            True,
        )
        return
    settings = ctx.settings
    body = _TEMPLATES.from_string(settings.review_request.template).render(
        first_name=customer.first_name,
        business_name=settings.business.name,
        review_url=settings.review_request.review_url,
        service=job.service_type,
    )
    store.update_message(message.id, {"status": "queued", "body": body, "to_address": phones[0]})
    store.enqueue(
        idempotency_key=f"sms:{message.id}",
        target=SMS_TARGET,
        kind="sms",
        ordering_key=f"customer:{customer.id}",
        customer_id=customer.id,
        message_id=message.id,
        payload={"to": phones[0], "body": body},
    )
