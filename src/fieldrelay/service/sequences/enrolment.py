"""Sequence enrolments: who enrols on a trigger, when each step falls due, and how an enrolment ends.

Firing a due step (conditions, consent, the weekly cap, the message or task) is in ``sequence_steps``. Every
enrolment is a row (``enrollments``) and every pending step a timer, so the office can see who is on which step
and why they left, and a restart loses nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import structlog

from fieldrelay.domain.sequence_time import next_business_moment, season_moment
from fieldrelay.rules.config import DAYS
from fieldrelay.rules.sequences import ExitRule, Sequence
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.outreach import consent, templates, texts
from fieldrelay.service.records import JobRecord
from fieldrelay.service.sequences.ports import EnrollmentRecord

log = structlog.get_logger("fieldrelay.sequences")

STEP_KIND = "sequence_step"
PLAN_FIELD = "maintenance_plan"
RATING_FIELD = "satisfaction_rating"


def on_trigger(
    ctx: HandlerContext,
    trigger: str,
    *,
    customer_id: str,
    at: datetime,
    job: JobRecord | None = None,
    subject_key: str | None = None,
    anchor_at: datetime | None = None,
    context: Mapping[str, object] | None = None,
) -> list[str]:
    """Enrol the customer in every enabled sequence this trigger starts whose entry filter holds; the new ids."""
    enrolled: list[str] = []
    stopped: list[bool] = []  # whether marketing may reach the customer: asked once for all the trigger's sequences
    for name, sequence in ctx.settings.sequences.items():
        if not sequence.enabled or sequence.trigger != trigger:
            continue
        refused = entry_refused(ctx, sequence, customer_id, job, context or {}, stopped)
        if refused is not None:
            log.debug("sequence.entry_refused", sequence=name, customer_id=customer_id, reason=refused)
            continue
        subject = subject_key or (f"job:{job.id}" if job is not None else f"customer:{customer_id}")
        anchor = anchor_at or at
        if sequence.anchor == "renewal_due":
            anchor = _add_months(at, ctx.settings.renewal_after_months)
        enrollment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fieldrelay:{ctx.settings.account_id}:{name}:{subject}"))
        # The row about to be written, kept rather than read back (one round trip less per enrolment, per job event).
        enrollment = EnrollmentRecord(
            id=enrollment_id,
            sequence=name,
            customer_id=customer_id,
            job_id=job.id if job is not None else None,
            anchor_at=anchor,
            status="active",
            next_step=0,
            last_step=None,
            last_step_at=None,
            exit_reason=None,
            context={**(context or {}), "trigger_at": at.isoformat(), "service": templates.service_text(job)},
            enrolled_at=ctx.now,
        )
        values = {
            "id": enrollment.id,
            "sequence": name,
            "subject_key": subject,
            "customer_id": customer_id,
            "job_id": enrollment.job_id,
            "anchor_at": anchor,
            "status": enrollment.status,
            "next_step": enrollment.next_step,
            "context": enrollment.context,
        }
        if not ctx.store.insert_enrollment(values):
            continue  # the same trigger delivered again: the first enrolment stands
        label = name.replace("_", " ")
        ctx.store.add_activity(customer_id, ctx.now, "sequence.enrolled", f"Started {label}", "fieldrelay", True)
        plan_from(ctx, enrollment, 0, fresh=True)
        enrolled.append(enrollment_id)
    return enrolled


def entry_refused(
    ctx: HandlerContext,
    sequence: Sequence,
    customer_id: str,
    job: JobRecord | None,
    context: Mapping[str, object],
    stopped: list[bool] | None = None,
) -> str | None:
    """Why the customer may not enrol, or None. ``stopped``: where ``marketing_stopped``'s answer is kept for the
    next sequence of the same trigger (its consent look-ups are the same)."""
    entry = sequence.entry
    rating = context.get("rating")
    if (entry.rating_at_least is not None or entry.rating_at_most is not None) and not isinstance(rating, int):
        return "no rating given"
    if entry.rating_at_least is not None and isinstance(rating, int) and rating < entry.rating_at_least:
        return f"rating {rating} is below {entry.rating_at_least}"
    if entry.rating_at_most is not None and isinstance(rating, int) and rating > entry.rating_at_most:
        return f"rating {rating} is above {entry.rating_at_most}"
    if entry.min_ticket is not None:
        total = job.total_cents if job is not None else None
        if total is None or total < entry.min_ticket * 100:
            return f"the ticket is under ${entry.min_ticket:,.0f}"
    if entry.no_plan and holds_plan(ctx, customer_id):
        return "the customer holds a maintenance plan"
    if entry.service_matches is not None and not re.search(
        entry.service_matches, templates.service_text(job), re.IGNORECASE
    ):
        return "the service does not match"
    if sequence.category == "marketing":
        if stopped is None:
            stopped = []
        if not stopped:
            stopped.append(marketing_stopped(ctx, customer_id))
        if stopped[0]:
            return "the customer opted out"
    return None


def holds_plan(ctx: HandlerContext, customer_id: str) -> bool:
    """True when the customer holds a maintenance plan (a paid plan purchase, or a person said so)."""
    held = ctx.store.fields_of(customer_id).get(PLAN_FIELD)
    return held is not None and bool(held.value)


def marketing_stopped(ctx: HandlerContext, customer_id: str) -> bool:
    """True when no marketing may reach the customer on any channel they have."""
    phones, emails = ctx.store.phones_of(customer_id), ctx.store.emails_of(customer_id)
    addresses = [("sms", p) for p in phones] + [("email", e) for e in emails] or [("sms", "")]
    return all(
        consent.withheld_reason(
            ctx.store, ctx.settings, customer_id=customer_id, channel=ch, category="marketing", address=address
        )
        is not None
        for ch, address in addresses
    )


def plan_from(
    ctx: HandlerContext, enrollment: EnrollmentRecord, index: int, attempt: int = 0, *, fresh: bool = False
) -> None:
    """Plan the first step from ``index`` that can still happen; complete the enrolment when none is left.

    ``fresh``: the enrolment was created in this transaction, so it has no task or timer yet to look for (a seasonal
    offer whose season falls too late completes at once, on every job event).
    """
    sequence = ctx.settings.sequences[enrollment.sequence]
    while index < len(sequence.steps):
        step = sequence.steps[index]
        due: datetime | None = enrollment.anchor_at + step.offset
        latest = enrollment.anchor_at + step.latest if step.latest is not None else None
        if step.align == "season":
            season = templates.season_for(ctx.settings, str(enrollment.context.get("service", "")))
            zone = ZoneInfo(ctx.settings.business.time_zone)
            assert due is not None
            due = season_moment(max(due, ctx.now), latest, frozenset(season.months), zone) if season else None
            if due is None:
                why = "no season configured for this service" if season is None else "its season falls too late"
                skip(ctx, enrollment, step.name, why)
                index += 1
                continue
        assert due is not None
        due = max(due, ctx.now)
        if latest is not None and due > latest:
            skip(ctx, enrollment, step.name, f"its window closed {latest:%Y-%m-%d}")
            index += 1
            continue
        if step.align == "business_hours":
            due = _business_moment(ctx, due)
        if step.channel == "sms":
            due = texts.within_text_hours(ctx, enrollment.customer_id, due)
        schedule_step(ctx, enrollment, index, step.name, due, attempt, fresh=fresh)
        return
    if not fresh and ctx.store.open_tasks_from(task_source(enrollment.id)):
        # A call promised to the customer is still open: the enrolment waits (past its last step) for a person to
        # close it with an outcome, which ends it (service/tasks/closing.py).
        ctx.store.update_enrollment(enrollment.id, {"next_step": len(sequence.steps)})
        return
    finish(ctx, enrollment, "completed", None, fresh=fresh)


def task_source(enrollment_id: str) -> str:
    """The source prefix of the tasks an enrolment's steps open (``seq:{enrollment id}:{step}``)."""
    return f"seq:{enrollment_id}:"


def task_opened_by(source: str) -> tuple[str, str] | None:
    """(enrolment id, step name) of a task a sequence step opened, from its source; None for any other task."""
    kind, _, rest = source.partition(":")
    enrollment_id, _, step = rest.partition(":")
    return (enrollment_id, step) if kind == "seq" and enrollment_id and step else None


def waits_on_task(ctx: HandlerContext, enrollment: EnrollmentRecord) -> bool:
    """True when the enrolment is active with every step done and only its open task left (see ``plan_from``)."""
    sequence = ctx.settings.sequences.get(enrollment.sequence)
    return enrollment.status == "active" and (sequence is None or enrollment.next_step >= len(sequence.steps))


def schedule_step(
    ctx: HandlerContext,
    enrollment: EnrollmentRecord,
    index: int,
    name: str,
    due: datetime,
    attempt: int = 0,
    *,
    fresh: bool = False,
) -> None:
    """The timer for one step (a deferred step gets a fresh key per deferral). ``fresh``: ``enrollment`` is the row
    this transaction just wrote, so its ``next_step`` is what the database holds."""
    key = f"seq:{enrollment.id}:{name}" + (f":{attempt}" if attempt else "")
    payload = {"enrollment_id": enrollment.id, "step": index, "name": name, "attempt": attempt}
    ctx.store.schedule_timer(key, STEP_KIND, due, enrollment.customer_id, payload, enrollment_id=enrollment.id)
    if not (fresh and index == enrollment.next_step):  # a new enrolment's first step: already written as inserted
        ctx.store.update_enrollment(enrollment.id, {"next_step": index})


def defer(
    ctx: HandlerContext, enrollment: EnrollmentRecord, step: str, until: datetime, attempt: int, reason: str
) -> None:
    """Move a step to a later time for ``reason``: on the timeline, and on the enrolment for ``sequences status``."""
    schedule_step(ctx, enrollment, enrollment.next_step, step, until, attempt)
    deferred = {"step": step, "until": until.isoformat(), "reason": reason}
    ctx.store.update_enrollment(enrollment.id, {"context": {**enrollment.context, "deferred": deferred}})
    ctx.store.add_activity(
        enrollment.customer_id,
        ctx.now,
        "sequence.step_deferred",
        f"{enrollment.sequence.replace('_', ' ')}: {step.replace('_', ' ')} waits until {until:%Y-%m-%d %H:%M}Z"
        f" ({reason})",
        "fieldrelay",
        True,
    )


def skip(ctx: HandlerContext, enrollment: EnrollmentRecord, step: str, reason: str) -> None:
    """Put a skipped step on the timeline."""
    label = f"{enrollment.sequence.replace('_', ' ')}: {step.replace('_', ' ')}"
    ctx.store.add_activity(
        enrollment.customer_id, ctx.now, "sequence.step_skipped", f"Skipped {label} ({reason})", "fieldrelay", True
    )


def finish(
    ctx: HandlerContext, enrollment: EnrollmentRecord, status: str, reason: str | None, *, fresh: bool = False
) -> None:
    """End an enrolment (completed or exited), cancelling its pending steps; an exit also cancels its open tasks.
    ``fresh``: created in this transaction with no step planned, so there is no timer to cancel."""
    ctx.store.update_enrollment(enrollment.id, {"status": status, "exit_reason": reason})
    if not fresh:
        ctx.store.cancel_timers(enrollment.id)
    if status == "exited":
        label = enrollment.sequence.replace("_", " ")
        ctx.store.add_activity(
            enrollment.customer_id, ctx.now, "sequence.exited", f"Left {label}: {reason}", "fieldrelay", True
        )
        # What the customer did answered the sequence (booked again, became a member, opted out): its call is moot.
        for task in ctx.store.open_tasks_from(task_source(enrollment.id)):
            values = {"status": "cancelled", "closed_at": ctx.now, "closed_by": "fieldrelay", "note": reason}
            ctx.store.update_task(task.id, values)
            summary = f"Task cancelled: {task.title} ({label} ended: {reason})"
            ctx.store.add_activity(enrollment.customer_id, ctx.now, "task.cancelled", summary, "fieldrelay", True)


def end_on(
    ctx: HandlerContext,
    customer_id: str,
    rule: ExitRule,
    reason: str,
    *,
    job_id: str | None = None,
    not_job_id: str | None = None,
) -> int:
    """End the customer's active enrolments whose sequence exits on ``rule``; how many ended.

    ``job_id`` limits it to enrolments about that job (paid); ``not_job_id`` spares that job's own (booked again).
    """
    ended = 0
    for enrollment in ctx.store.enrollments_of(customer_id):
        sequence = ctx.settings.sequences.get(enrollment.sequence)
        if sequence is None or rule not in sequence.exit_on:
            continue
        if job_id is not None and enrollment.job_id != job_id:
            continue
        if not_job_id is not None and enrollment.job_id == not_job_id:
            continue
        finish(ctx, enrollment, "exited", reason)
        ended += 1
    return ended


def _business_moment(ctx: HandlerContext, due: datetime) -> datetime:
    hours: dict[int, tuple[time, time]] = {
        DAYS.index(day): (w.opens, w.closes) for day, w in ctx.settings.business.opening_hours().items()
    }
    return next_business_moment(due, ZoneInfo(ctx.settings.business.time_zone), hours)


def _add_months(at: datetime, months: int) -> datetime:
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    for day in (at.day, 30, 29, 28):  # the 31st of a shorter month becomes its last day
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return at + timedelta(days=30 * months)
