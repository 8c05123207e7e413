"""Texts on durable timers: planned when an event happens, re-checked against the mirror when they fall due.

The review request after a payment is captured lives here; the job texts a field-mapping row can trigger
(confirmation, ETA, payment reminder) use the same ``plan_text`` and ``send_or_cancel`` (service/outreach/job_texts.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2.sandbox import SandboxedEnvironment

from fieldrelay.domain.lifecycle import JobStatus
from fieldrelay.domain.quiet_hours import next_allowed
from fieldrelay.rules.config import parse_window
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.outreach import consent, intents, templates
from fieldrelay.service.outreach.intents import Intent
from fieldrelay.service.records import MessageRecord

REVIEW_REQUEST = "review_request"
SMS_TARGET = "sms"

# Templates are the shop's text; the sandbox keeps a template from reaching into Python objects.
_TEMPLATES = SandboxedEnvironment(autoescape=False)


def plan_text(
    ctx: HandlerContext,
    *,
    key: str,
    kind: str,
    purpose: str,
    customer_id: str,
    job_id: str,
    due: datetime,
    trigger_at: datetime,
    payload: Mapping[str, object],
    category: str = "transactional",
) -> bool:
    """A timer and a scheduled message for one text, once per ``key`` ever; True when planned now.

    A text due outside the allowed hours of the customer's day waits for the next opening (``text_hours``).
    """
    store = ctx.store
    due = within_text_hours(ctx, customer_id, due)
    message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fieldrelay:{ctx.settings.account_id}:{key}"))
    if not store.schedule_timer(key, kind, due, customer_id, {**payload, "job_id": job_id, "message_id": message_id}):
        return False  # already planned (the same event delivered again): the first plan stands
    phones = store.phones_of(customer_id)
    store.insert_message(
        {
            "id": message_id,
            "customer_id": customer_id,
            "job_id": job_id,
            "channel": "sms",
            "purpose": purpose,
            "category": category,
            "to_address": phones[0] if phones else "",
            "body": "",
            "status": "scheduled",
            "scheduled_for": due,
            "trigger_at": trigger_at,
        }
    )
    return True


def within_text_hours(ctx: HandlerContext, customer_id: str, due: datetime) -> datetime:
    """``due``, or the next moment inside ``text_hours`` of the customer's local day (their zone, else the shop's)."""
    known = ctx.store.fields_of(customer_id).get("time_zone")
    zone_name = known.value if known is not None and isinstance(known.value, str) else None
    try:
        zone = ZoneInfo(zone_name or ctx.settings.business.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(ctx.settings.business.time_zone)
    window = parse_window(ctx.settings.text_hours)
    return next_allowed(due, zone, window.opens, window.closes)


def send_or_cancel(
    ctx: HandlerContext,
    message: MessageRecord,
    reason: str | None,
    label: str,
    template: str,
    intent: Intent,
    **values: object,
) -> None:
    """Queue the text unless ``reason`` (or consent, a missing phone, or the same intent already queued) says not to;
    a cancel is on the timeline."""
    store = ctx.store
    customer = store.get_customer(message.customer_id)
    phones = store.phones_of(customer.id)
    category = "marketing" if message.purpose == REVIEW_REQUEST else "transactional"
    if reason is None:
        reason = consent.withheld_reason(
            store,
            ctx.settings,
            customer_id=customer.id,
            channel="sms",
            category=category,
            address=phones[0] if phones else "",
        )
        if reason is None and not phones:
            reason = "no phone number on record"
    if reason:
        store.update_message(message.id, {"status": "cancelled"})
        store.add_activity(customer.id, ctx.now, "message.cancelled", f"{label} not sent: {reason}", "fieldrelay", True)
        return
    body = _TEMPLATES.from_string(template).render(
        first_name=customer.first_name, business_name=ctx.settings.business.name, **values
    )
    queued: dict[str, object] = {"status": "queued", "body": body, "to_address": phones[0]}
    # The review site the text's link is on, for the Reviews page (only when the shop's template kept the link).
    if (platform := templates.carried_platform(ctx.settings, customer.lead_source, body)) is not None:
        queued["review_platform"] = platform
    store.update_message(message.id, queued)
    intents.queue(
        ctx,
        message_id=message.id,
        customer_id=customer.id,
        channel=SMS_TARGET,
        intent=intent,
        payload={"to": phones[0], "body": body, "category": category},
        label=label,
    )


def schedule_review_request(ctx: HandlerContext, *, customer_id: str, job_id: str, paid_at: datetime) -> None:
    """Plan the review-request text for ``delay_minutes`` after the payment: one per job, ever."""
    # Counted from the payment, not from when the webhook arrived; a late webhook sends as soon as it can.
    due = max(paid_at + timedelta(minutes=ctx.settings.review_request.delay_minutes), ctx.now)
    plan_text(
        ctx,
        key=f"{REVIEW_REQUEST}:{job_id}",
        kind=REVIEW_REQUEST,
        purpose=REVIEW_REQUEST,
        customer_id=customer_id,
        job_id=job_id,
        due=due,
        trigger_at=paid_at,
        payload={},
        category="marketing",
    )


def fire_review_request(ctx: HandlerContext, payload: Mapping[str, object]) -> None:
    """Re-check the conditions against the mirror now, then queue the text or cancel it with a reason."""
    store = ctx.store
    message = store.get_message(str(payload["message_id"]))
    job = store.get_job(str(payload["job_id"]))
    if message is None or job is None or message.status != "scheduled":
        return
    settings = ctx.settings.review_request
    reason = f"the job is now {job.status}" if job.status != JobStatus.PAID else None
    send_or_cancel(
        ctx,
        message,
        reason,
        "Review request",
        settings.template,
        Intent(REVIEW_REQUEST, f"job:{job.id}"),
        review_url=templates.review_link(ctx.settings, store.get_customer(message.customer_id).lead_source),
        service=job.service_type,
    )
