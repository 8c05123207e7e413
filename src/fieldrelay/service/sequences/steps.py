"""Firing a due sequence step: exit rules and conditions re-checked against the mirror, consent, the weekly
marketing cap, then a text or email queued on the outbox, or a task opened for a person."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from fieldrelay.domain.lifecycle import JobStatus
from fieldrelay.rules import secrets
from fieldrelay.rules.sequences import Condition, ExitRule, Sequence, Step, parse_duration
from fieldrelay.service import team
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff.first_response import shop_hours
from fieldrelay.service.outreach import consent, intents, templates, texts
from fieldrelay.service.outreach import unsubscribe as unsubscribe_links
from fieldrelay.service.outreach.intents import Intent
from fieldrelay.service.records import JobRecord
from fieldrelay.service.sequences import enrolment as sequences
from fieldrelay.service.sequences.ports import Behaviour, EnrollmentRecord

CAP_WINDOW = timedelta(days=7)
_LABEL = {"sms": "Text", "email": "Email"}


def fire_step(ctx: HandlerContext, payload: Mapping[str, object]) -> None:
    """Run one due step, or skip it, defer it (weekly cap) or end the enrolment, each with its reason."""
    store = ctx.store
    enrollment = store.get_enrollment(str(payload["enrollment_id"]))
    index = int(str(payload["step"]))
    if enrollment is None or enrollment.status != "active" or enrollment.next_step != index:
        return  # ended, or already moved past this step (a timer from before a deferral)
    sequence = ctx.settings.sequences.get(enrollment.sequence)
    if sequence is None or index >= len(sequence.steps) or sequence.steps[index].name != payload.get("name"):
        sequences.finish(ctx, enrollment, "exited", "the sequence was changed or removed from the configuration")
        return
    step = sequence.steps[index]
    job = store.get_job(enrollment.job_id) if enrollment.job_id else None
    behaviour = _behaviour(ctx, enrollment)
    reason = exit_reason(ctx, sequence, enrollment, behaviour, job)
    if reason is not None:
        sequences.finish(ctx, enrollment, "exited", reason)
        return
    failed = next((c for c in step.when if not condition_holds(ctx, c, enrollment, behaviour, job)), None)
    if failed is not None:
        if step.otherwise == "exit":
            sequences.finish(ctx, enrollment, "exited", f"{step.name}: {failed.replace('_', ' ')} did not hold")
            return
        sequences.skip(ctx, enrollment, step.name, f"{failed.replace('_', ' ')} did not hold")
    elif step.channel == "task":
        _open_task(ctx, enrollment, step, job)
    elif not _send(ctx, sequence, enrollment, step, job, int(str(payload.get("attempt", 0)))):
        return  # deferred by the weekly cap: the same step fires again later
    _advance(ctx, enrollment, index, step.name)


def _advance(ctx: HandlerContext, enrollment: EnrollmentRecord, index: int, name: str) -> None:
    ctx.store.update_enrollment(enrollment.id, {"last_step": name, "last_step_at": ctx.now, "next_step": index + 1})
    sequences.plan_from(ctx, enrollment, index + 1)


def _since(enrollment: EnrollmentRecord, key: str) -> datetime:
    value = enrollment.context.get(key)
    return datetime.fromisoformat(value) if isinstance(value, str) else enrollment.enrolled_at


def _behaviour(ctx: HandlerContext, enrollment: EnrollmentRecord) -> Behaviour:
    # Bookings and reviews count from the trigger; replies from the enrolment's first message (the rating reply
    # that started an offer is not a response to the offer).
    trigger_at = _since(enrollment, "trigger_at")
    replies_from = _since(enrollment, "first_contact_at") if "first_contact_at" in enrollment.context else ctx.now
    return ctx.store.behaviour_since(enrollment.customer_id, trigger_at, replies_from, enrollment.id, enrollment.job_id)


def exit_reason(
    ctx: HandlerContext, sequence: Sequence, enrollment: EnrollmentRecord, behaviour: Behaviour, job: JobRecord | None
) -> str | None:
    """The first exit rule of the sequence that has happened, in words, or None."""
    checks: dict[ExitRule, tuple[bool, str]] = {
        "booked_again": (behaviour.booked_again, "booked again"),
        "left_review": (behaviour.review_left, "left a review"),
        "replied": (behaviour.replied, "replied"),
        "paid": (job is not None and job.status == JobStatus.PAID, "paid"),
    }
    for rule in sequence.exit_on:
        if rule in checks:
            happened, words = checks[rule]
        elif rule == "opted_out":
            happened, words = sequences.marketing_stopped(ctx, enrollment.customer_id), "opted out"
        else:  # became_member
            happened, words = sequences.holds_plan(ctx, enrollment.customer_id), "became a plan member"
        if happened:
            return words
    return None


def condition_holds(
    ctx: HandlerContext, condition: Condition, enrollment: EnrollmentRecord, behaviour: Behaviour, job: JobRecord | None
) -> bool:
    """Whether one ``when`` condition holds now."""
    if condition == "unpaid":
        return job is not None and job.status != JobStatus.PAID and (job.balance_cents is None or job.balance_cents > 0)
    if condition == "no_plan":
        return not sequences.holds_plan(ctx, enrollment.customer_id)
    facts = {
        "replied": behaviour.replied,
        "not_replied": not behaviour.replied,
        "opened": behaviour.opened,
        "not_opened": not behaviour.opened,
        "clicked": behaviour.clicked,
        "not_clicked": not behaviour.clicked,
        "no_response": not (behaviour.replied or behaviour.clicked or behaviour.booked_again),
        "not_booked_again": not behaviour.booked_again,
    }
    return facts[condition]


def _open_task(ctx: HandlerContext, enrollment: EnrollmentRecord, step: Step, job: JobRecord | None) -> None:
    assert step.task is not None
    rating = enrollment.context.get("rating")
    title = step.task.title + (f" ({rating}/5)" if isinstance(rating, int) else "")
    owner = team.owner_for(ctx.settings, step.task.role)  # the team member holding the role, else the role
    created = ctx.store.insert_task(
        {
            "id": str(uuid.uuid4()),
            "customer_id": enrollment.customer_id,
            "job_id": job.id if job is not None else None,
            "kind": f"{enrollment.sequence}.{step.name}",
            "title": title,
            "role": owner.role,
            "assignee": owner.person,
            # People work in business hours: a task that would fall due while the shop is closed is due when it opens.
            "due_at": shop_hours(ctx.settings).next_opening(ctx.now + parse_duration(step.task.due_in)),
            "source": sequences.task_source(enrollment.id) + step.name,
        }
    )
    if created:
        ctx.store.add_activity(
            enrollment.customer_id, ctx.now, "task.opened", f"Task for {owner.label}: {title}", "fieldrelay", True
        )


def _send(
    ctx: HandlerContext,
    sequence: Sequence,
    enrollment: EnrollmentRecord,
    step: Step,
    job: JobRecord | None,
    attempt: int,
) -> bool:
    """Queue the step's message (or skip it with a reason); False when the weekly cap defers it."""
    store, customer_id, channel = ctx.store, enrollment.customer_id, step.channel
    addresses = store.phones_of(customer_id) if channel == "sms" else store.emails_of(customer_id)
    if not addresses:
        sequences.skip(ctx, enrollment, step.name, f"no {'phone number' if channel == 'sms' else 'email'} on record")
        return True
    address = addresses[0]
    withheld = consent.withheld_reason(
        store, ctx.settings, customer_id=customer_id, channel=channel, category=sequence.category, address=address
    )
    if withheld is not None:
        sequences.skip(ctx, enrollment, step.name, withheld)
        return True
    touch = f"{enrollment.id}:{step.after}"
    if sequence.category == "marketing":
        held = _held_until(ctx, sequence, enrollment, touch, channel)
        if held is not None:
            free_at, why = held
            sequences.defer(ctx, enrollment, step.name, free_at, attempt + 1, why)
            return False
    customer = store.get_customer(customer_id)
    values = templates.base_values(ctx.settings, customer, job)
    values["rating"] = enrollment.context.get("rating")
    values.update({k: v for k, v in enrollment.context.items() if k in templates.CONTEXT_VALUES})
    renewal = enrollment.anchor_at.date() if sequence.anchor == "renewal_due" else None
    assert step.template is not None
    try:
        subject, body = templates.render(ctx.settings, step.template, values, renewal_date=renewal)
    except templates.TemplateFailed as exc:
        sequences.skip(ctx, enrollment, step.name, str(exc))
        return True
    platform = templates.carried_platform(ctx.settings, customer.lead_source, body, subject)
    queue_message(ctx, enrollment, step, sequence.category, address, subject, body, touch, platform)
    return True


def _held_until(
    ctx: HandlerContext, sequence: Sequence, enrollment: EnrollmentRecord, touch: str, channel: str
) -> tuple[datetime, str] | None:
    """When a marketing step must wait, until when and why; None when it may go now.

    A step promised at a time goes (it still counts); so does the second message of a touch (the email beside its
    text). A discretionary step waits for room under the weekly cap and for a day since the last marketing touch.
    """
    if sequence.timing == "promised":
        return None
    messaging = ctx.settings.messaging
    # Half-open window: a touch exactly 7 days old no longer counts, so waiting until then always makes progress.
    touches = ctx.store.marketing_touches_since(enrollment.customer_id, ctx.now - CAP_WINDOW)
    if touch in touches:
        return None
    waits: list[tuple[datetime, str]] = []
    times = sorted(touches.values())
    cap = messaging.marketing_per_week
    if len(times) >= cap:
        unit = "touch" if cap == 1 else "touches"
        waits.append((times[len(times) - cap] + CAP_WINDOW, f"the weekly cap: {cap} marketing {unit} in 7 days"))
    spacing = timedelta(hours=messaging.discretionary_spacing_hours)
    if times and ctx.now - times[-1] < spacing:
        hours = f"{messaging.discretionary_spacing_hours:g}"
        waits.append((times[-1] + spacing, f"a marketing message went out less than {hours} hours ago"))
    if not waits:
        return None
    free_at, why = max(waits)
    if channel == "sms":
        free_at = texts.within_text_hours(ctx, enrollment.customer_id, free_at)
    return (free_at, why) if free_at > ctx.now else None


def queue_message(
    ctx: HandlerContext,
    enrollment: EnrollmentRecord,
    step: Step,
    category: str,
    address: str,
    subject: str | None,
    body: str,
    touch: str | None = None,
    review_platform: str | None = None,
) -> str:
    """A message row and its outbox row, keyed so a step that fires twice queues once and a second request for the
    same intent queues nothing; the message id. ``review_platform``: the review site the message's link is on."""
    store = ctx.store
    message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fieldrelay:{enrollment.id}:{step.name}"))
    unsubscribe_url = (
        _unsubscribe_url(ctx, enrollment, address) if step.channel == "email" and category == "marketing" else None
    )
    if unsubscribe_url is not None:
        # The header serves mail clients' one-click button; the law (CAN-SPAM) wants a visible way out in the body.
        body = f"{body}\n\n--\nTo stop these emails from {ctx.settings.business.name}: {unsubscribe_url}"
    store.insert_message(
        {
            "id": message_id,
            "customer_id": enrollment.customer_id,
            "job_id": enrollment.job_id,
            "channel": step.channel,
            "purpose": f"{enrollment.sequence}.{step.name}"[:64],
            "category": category,
            "subject": subject,
            "enrollment_id": enrollment.id,
            "to_address": address,
            "body": body,
            "status": "queued",
            "scheduled_for": ctx.now,
            "trigger_at": _since(enrollment, "trigger_at"),
            "touch": touch,
            "review_platform": review_platform,
        }
    )
    payload: dict[str, object] = {"to": address, "body": body, "category": category}
    if subject is not None:
        payload["subject"] = subject
    if unsubscribe_url is not None:
        payload["unsubscribe_url"] = unsubscribe_url
    subject_of = f"job:{enrollment.job_id}" if enrollment.job_id else f"enrollment:{enrollment.id}"
    intents.queue(
        ctx,
        message_id=message_id,
        customer_id=enrollment.customer_id,
        channel=step.channel,
        intent=Intent(step.intent or f"{enrollment.sequence}.{step.name}", subject_of),
        payload=payload,
        label=f"{_LABEL[step.channel]} from {enrollment.sequence.replace('_', ' ')}",
    )
    if "first_contact_at" not in enrollment.context:
        store.update_enrollment(
            enrollment.id, {"context": {**enrollment.context, "first_contact_at": ctx.now.isoformat()}}
        )
    return message_id


def _unsubscribe_url(ctx: HandlerContext, enrollment: EnrollmentRecord, address: str) -> str | None:
    """The signed one-click unsubscribe link for a marketing email, or None when it cannot be made."""
    # The secret is read here rather than carried on HandlerContext: every place that builds a context would have
    # to fetch it, for this one use. Without it (or without public_base_url) a real provider withholds the email.
    return unsubscribe_links.unsubscribe_url(
        ctx.settings,
        secrets.unsubscribe_secret(),
        account_id=ctx.settings.account_id,
        customer_id=enrollment.customer_id,
        address=address,
    )
