"""Message bus: the explicit table of which handler applies which canonical event or fires which timer."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fieldrelay.domain import events as ev
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.crm import deals
from fieldrelay.service.handoff import first_response as handoff
from fieldrelay.service.handoff import review as handoff_review
from fieldrelay.service.intake import customers, estimates, jobs, leads, payments
from fieldrelay.service.intake import messages as messaging
from fieldrelay.service.ops import digest as ops_digest
from fieldrelay.service.outreach import job_texts
from fieldrelay.service.outreach import texts as followups
from fieldrelay.service.sequences import enrolment as sequences
from fieldrelay.service.sequences import steps as sequence_steps

EventHandler = Callable[[HandlerContext, ev.FieldEvent], None]
TimerHandler = Callable[[HandlerContext, Mapping[str, object]], None]

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
    ev.ReplyReceived: messaging.on_reply,
    ev.OptedOut: messaging.on_consent,
    ev.OptedIn: messaging.on_consent,
    ev.HelpRequested: messaging.on_help,
    ev.MessageStatusChanged: messaging.on_status,
    ev.MessageEngaged: messaging.on_engaged,
}

TIMER_HANDLERS: dict[str, TimerHandler] = {
    followups.REVIEW_REQUEST: followups.fire_review_request,
    job_texts.JOB_TEXT: job_texts.fire,
    deals.NO_DECISION: deals.fire_no_decision,
    sequences.STEP_KIND: sequence_steps.fire_step,
    ops_digest.DIGEST: ops_digest.fire_digest,
    handoff.ACK: handoff.fire_ack,
    handoff.ESCALATE: handoff_review.fire_escalation,
    handoff_review.REVIEW: handoff_review.fire_review,
}


def apply(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """Apply one canonical event to the mirror."""
    EVENT_HANDLERS[type(event)](ctx, event)


def fire(ctx: HandlerContext, kind: str, payload: Mapping[str, object]) -> None:
    """Run the handler of a due timer."""
    TIMER_HANDLERS[kind](ctx, payload)
