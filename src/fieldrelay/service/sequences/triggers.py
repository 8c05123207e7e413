"""Where field events meet sequences: triggers, exits when a behaviour happens, ratings read from replies."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fieldrelay.domain.ratings import parse_rating
from fieldrelay.rules.sequences import TRIGGERS
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.outreach.templates import service_text
from fieldrelay.service.records import FieldWrite, JobRecord
from fieldrelay.service.referrals import program as referrals
from fieldrelay.service.sequences import enrolment as sequences


def on_job(ctx: HandlerContext, event: str, customer_id: str, job: JobRecord | None, occurred_at: datetime) -> None:
    """A job event that was applied: end what it ends, then start what it triggers."""
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
        job = ctx.store.get_job(enrollment.job_id) if enrollment.job_id else None
        sequences.on_trigger(
            ctx,
            "rating.received",
            customer_id=customer_id,
            at=at,
            job=job,
            anchor_at=enrollment.anchor_at,
            context={"rating": rating},
        )
        referrals.on_rating(ctx, customer_id, rating, job)
        return rating
    return None


def on_opted_out(ctx: HandlerContext, customer_id: str) -> None:
    """An opt-out: end every enrolment that exits on it, when no marketing may reach the customer any more."""
    if sequences.marketing_stopped(ctx, customer_id):
        sequences.end_on(ctx, customer_id, "opted_out", "opted out")


def on_replied(ctx: HandlerContext, customer_id: str) -> None:
    """A reply (not a rating): end the enrolments that stop when the customer answers."""
    sequences.end_on(ctx, customer_id, "replied", "replied")


def on_engaged(ctx: HandlerContext, customer_id: str, message_id: str, purpose: str, action: str, at: datetime) -> None:
    """An open or a click on one of our messages: remembered on the message; a click on a review link ends asks."""
    ctx.store.note_engagement(message_id, action, at)
    if action == "clicked" and purpose.startswith("review"):
        sequences.end_on(ctx, customer_id, "left_review", "clicked the review link")
