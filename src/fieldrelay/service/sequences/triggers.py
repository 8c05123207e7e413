"""Where changes meet sequences (reactions in bus.py): triggers, exits on behaviour, ratings read from replies."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fieldrelay.domain import events as ev
from fieldrelay.domain.ratings import parse_rating
from fieldrelay.rules.sequences import TRIGGERS
from fieldrelay.service.changes import Engaged, JobChanged, OptedOut, Rated, Replied, Triggered
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.outreach.templates import service_text
from fieldrelay.service.records import FieldWrite, JobRecord
from fieldrelay.service.sequences import enrolment as sequences


def on_job(ctx: HandlerContext, change: JobChanged) -> None:
    """A job event that was applied: end what it ends, then start what it triggers."""
    event, customer_id, job, occurred_at = change.event, change.customer_id, change.job, change.occurred_at
    if job is not None:
        if event == "job.booked":
            sequences.end_on(ctx, customer_id, "booked_again", "booked again", not_job_id=job.id)
        elif event == "job.paid":
            sequences.end_on(ctx, customer_id, "paid", "paid", job_id=job.id)
            if re.search(ctx.settings.followup.plan_purchase_matches, service_text(job), re.IGNORECASE):
                _joined_plan(ctx, customer_id, job, occurred_at)
    if event in TRIGGERS:
        sequences.on_trigger(ctx, event, customer_id=customer_id, at=occurred_at, job=job)


def _joined_plan(ctx: HandlerContext, customer_id: str, job: JobRecord, at: datetime) -> None:
    plan = job.service_type or "maintenance plan"
    ctx.store.write_fields(customer_id, {sequences.PLAN_FIELD: FieldWrite(plan, "rule:plan_purchase", at)})
    ctx.store.add_activity(customer_id, at, "plan.joined", f"Joined a plan: {plan}", "fieldrelay", True)
    sequences.end_on(ctx, customer_id, "became_member", "became a plan member")


def on_reply(ctx: HandlerContext, change: Replied) -> None:
    """A plain "4" to "how did we do? reply 1-5" is a rating; any other reply ends what stops on a reply."""
    if change.channel != ev.SMS or take_rating(ctx, change.customer_id, change.body, change.occurred_at) is None:
        on_replied(ctx, change.customer_id)


def take_rating(ctx: HandlerContext, customer_id: str, body: str, at: datetime) -> int | None:
    """Read a reply as the rating an open rating question asked for; the rating, or None when it is not one."""
    rating = parse_rating(body)
    if rating is None:
        return None
    window = ctx.settings.followup.rating_reply_hours
    for enrollment in ctx.store.enrollments_of(customer_id, ("active", "completed")):
        sequence = ctx.settings.sequences.get(enrollment.sequence)
        if sequence is None or "rating" in enrollment.context or enrollment.last_step_at is None:
            continue
        asked = next((s for s in sequence.steps if s.name == enrollment.last_step), None)
        if asked is None or asked.expects != "rating":
            continue
        if not enrollment.last_step_at <= at <= enrollment.last_step_at + timedelta(hours=window):
            continue
        ctx.store.update_enrollment(enrollment.id, {"context": {**enrollment.context, "rating": rating}})
        ctx.store.write_fields(customer_id, {sequences.RATING_FIELD: FieldWrite(rating, "customer:reply", at)})
        ctx.store.add_activity(customer_id, at, "rating.received", f"Rated the job {rating}/5", "fieldrelay", True)
        ctx.publish(Rated(customer_id, at, rating=rating, job_id=enrollment.job_id, anchor_at=enrollment.anchor_at))
        return rating
    return None


def on_rated(ctx: HandlerContext, change: Rated) -> None:
    """Start the sequences a rating starts (service recovery, the plan offer), anchored where the question was."""
    job = ctx.store.get_job(change.job_id) if change.job_id else None
    sequences.on_trigger(
        ctx,
        "rating.received",
        customer_id=change.customer_id,
        at=change.occurred_at,
        job=job,
        anchor_at=change.anchor_at,
        context={"rating": change.rating},
    )


def on_triggered(ctx: HandlerContext, change: Triggered) -> None:
    """Start the sequences a named trigger starts (no-decision, referrer enrolled, referral rewarded)."""
    sequences.on_trigger(
        ctx,
        change.trigger,
        customer_id=change.customer_id,
        at=change.occurred_at,
        subject_key=change.subject_key,
        context=change.context,
    )


def on_opted_out(ctx: HandlerContext, change: OptedOut) -> None:
    """An opt-out: end every enrolment that exits on it, when no marketing may reach the customer any more."""
    if sequences.marketing_stopped(ctx, change.customer_id):
        sequences.end_on(ctx, change.customer_id, "opted_out", "opted out")


def on_replied(ctx: HandlerContext, customer_id: str) -> None:
    """A reply (not a rating): end the enrolments that stop when the customer answers."""
    sequences.end_on(ctx, customer_id, "replied", "replied")


def on_engaged(ctx: HandlerContext, change: Engaged) -> None:
    """A click on a review link ends the review asks."""
    if change.action == "clicked" and change.purpose.startswith("review"):
        sequences.end_on(ctx, change.customer_id, "left_review", "clicked the review link")
