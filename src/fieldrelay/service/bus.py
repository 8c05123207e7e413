"""The bus: every reaction in fieldrelay, as explicit tables read top to bottom.

1. ``EVENT_HANDLERS``: which intake handler applies each canonical event to the mirror. A handler writes the record
   (and the field-mapping table's fields) and publishes what changed; it calls no other capability.
2. ``REACTIONS``: what follows each published change, in order. A reaction may return the change with more filled
   in for the ones after it, and may publish further changes; those run once the current change is done.
3. ``TIMER_HANDLERS``: what runs when a durable timer falls due (it re-checks its conditions against the mirror).
4. ``ON_START``: what every worker start makes sure of (idempotent: the daily timers, the configured team).

So a paid job sets off, in order: the mapped CRM fields (crm.mapping), the review request and job texts the mapping
row triggers (outreach.job_texts), the deal move (crm.deals), the outside CRM writes (crm.sync), the sequences it
ends or starts (sequences.triggers) and the referral it may qualify (referrals.program).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fieldrelay.domain import events as ev
from fieldrelay.service import changes as ch
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.crm import deals, mapping, sync
from fieldrelay.service.handoff import first_response, review, stages
from fieldrelay.service.intake import customers, estimates, jobs, leads, messages, payments
from fieldrelay.service.ops import digest
from fieldrelay.service.outreach import job_texts, texts
from fieldrelay.service.referrals import program
from fieldrelay.service.sequences import enrolment, steps, triggers

EventHandler = Callable[[HandlerContext, ev.FieldEvent], None]
# A reaction gets the change and returns it (with more filled in) or None for "unchanged".
Reaction = Callable[[HandlerContext, Any], ch.Change | None]
TimerHandler = Callable[[HandlerContext, Mapping[str, object]], None]
StartStep = Callable[[HandlerContext], object]

EVENT_HANDLERS: dict[type[ev.FieldEvent], EventHandler] = {
    ev.CustomerCreated: customers.on_customer_event,
    ev.CustomerUpdated: customers.on_customer_event,
    ev.JobBooked: jobs.on_job_event,
    ev.JobRescheduled: jobs.on_job_event,
    ev.JobDispatched: jobs.on_job_event,
    ev.JobArrived: jobs.on_job_event,
    ev.JobCompleted: jobs.on_job_event,
    ev.JobInvoiced: jobs.on_job_event,
    ev.PaymentCaptured: jobs.on_job_event,
    ev.JobCancelled: jobs.on_job_event,
    ev.EstimateSent: estimates.on_estimate_event,
    ev.EstimateAccepted: estimates.on_estimate_event,
    ev.EstimateDeclined: estimates.on_estimate_event,
    ev.LeadReceived: leads.on_lead,
    ev.PaymentReceived: payments.on_payment,
    ev.PaymentRefunded: payments.on_refund,
    ev.ReplyReceived: messages.on_reply,
    ev.OptedOut: messages.on_consent,
    ev.OptedIn: messages.on_consent,
    ev.HelpRequested: messages.on_help,
    ev.MessageStatusChanged: messages.on_status,
    ev.MessageEngaged: messages.on_engaged,
}

REACTIONS: dict[type[ch.Change], tuple[Reaction, ...]] = {
    ch.JobChanged: (
        mapping.on_change,  # the mapped CRM fields (an older event never overwrites a newer value)
        job_texts.on_job,  # the texts the mapping row triggers: confirmation, ETA, payment reminder, review request
        deals.on_change,  # the deal moves along the pipeline
        sync.on_change,  # the outside CRMs get the contact, the mapped fields and the deal as they now stand
        triggers.on_job,  # sequences the job ends (booked again, paid) or starts (completed, paid, cancelled …)
        program.on_job,  # a referred customer's first job reaching the milestone qualifies the referral
    ),
    ch.EstimateChanged: (
        mapping.on_change,
        stages.on_decided,  # approved or declined in the field tool: the estimate's follow-up tasks are answered
        deals.on_change,
        sync.on_change,
        deals.on_estimate,  # a sent estimate gets its no-decision check
        stages.on_estimate,  # a sent estimate starts the handoff's follow-up clock (same day / 48 h / day 5)
    ),
    ch.LeadArrived: (
        program.on_lead,  # a referral code on the lead is attributed before anything else reads the lead
        mapping.on_change,
        deals.on_change,
        first_response.on_lead,  # every source lands here: one first-response clock for all
        sync.on_change,
    ),
    # A customer's details (a contact-only update too), a merge or its undo, a consent change: the outside CRMs follow.
    ch.ContactChanged: (sync.on_contact,),
    ch.Refunded: (program.on_refund,),  # a refund before the reward disqualifies a referral
    ch.Replied: (triggers.on_reply,),  # a rating answers the question that asked for it; else "replied" exits
    ch.Rated: (
        triggers.on_rated,  # rating.received sequences (service recovery, plan offer)
        program.on_rating,  # a 4-5 rating of a completed job enrols a referrer
    ),
    ch.OptedOut: (triggers.on_opted_out,),  # no marketing may reach them: the enrolments that exit on it end
    ch.Engaged: (triggers.on_engaged,),  # a review-link click ends the review asks
    ch.TextSent: (stages.on_text_sent,),  # a text while an estimate awaits an answer logs itself as a follow-up
    ch.Triggered: (triggers.on_triggered,),  # no-decision, referrer enrolled, referral rewarded
}

TIMER_HANDLERS: dict[str, TimerHandler] = {
    texts.REVIEW_REQUEST: texts.fire_review_request,
    job_texts.JOB_TEXT: job_texts.fire,
    deals.NO_DECISION: deals.fire_no_decision,
    enrolment.STEP_KIND: steps.fire_step,
    digest.DIGEST: digest.fire_digest,
    first_response.ACK: first_response.fire_ack,
    first_response.ESCALATE: review.fire_escalation,
    review.REVIEW: review.fire_review,
}

ON_START: tuple[StartStep, ...] = (
    digest.schedule_next,  # the daily error digest's next timer (keyed by day: every start may ask for it)
    first_response.sync_team,  # the team in fieldrelay.yaml, upserted
    review.schedule_next,  # the morning open-loop review's next timer
)


def apply(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """Apply one canonical event to the mirror, then run the reactions to what it changed."""
    EVENT_HANDLERS[type(event)](ctx, event)
    settle(ctx)


def fire(ctx: HandlerContext, kind: str, payload: Mapping[str, object]) -> None:
    """Run the handler of a due timer, then the reactions to what it changed."""
    TIMER_HANDLERS[kind](ctx, payload)
    settle(ctx)


def publish(ctx: HandlerContext, change: ch.Change) -> None:
    """Run the reactions to a change the engine or a person's action reports (a text sent, say) now."""
    ctx.publish(change)
    settle(ctx)


def start(ctx: HandlerContext) -> None:
    """What every worker start makes sure of."""
    for step in ON_START:
        step(ctx)
    settle(ctx)


def settle(ctx: HandlerContext) -> None:
    """Run the reactions to every change published in this unit of work, oldest first, until none is left."""
    while ctx.published:
        change = ctx.published.pop(0)
        for reaction in REACTIONS[type(change)]:
            change = reaction(ctx, change) or change
