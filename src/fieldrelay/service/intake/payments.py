"""Payment handler: money from the payment processor, matched to a job by reference, else by the payer."""

from __future__ import annotations

from fieldrelay.domain import events as ev
from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.domain.lifecycle import JobStatus
from fieldrelay.service.changes import Refunded
from fieldrelay.service.context import HandlerContext, Unattachable
from fieldrelay.service.intake import customers, jobs
from fieldrelay.service.records import JobRecord


def on_payment(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """Mark the matched job paid (which schedules the review request); else note the payment on the customer."""
    assert isinstance(event, ev.PaymentReceived)
    job, customer_id = _match(ctx, event)
    # One payment often arrives as several events (a PaymentIntent and its charge): apply it once.
    if event.payment_ref and not ctx.store.link_external(
        event.source, "payment", event.payment_ref, job.id if job else customer_id
    ):
        return
    summary = f"Payment captured{jobs.money(event.amount_cents)} ({event.payment_ref})"
    if job is None:
        ctx.store.add_activity(
            customer_id,
            event.occurred_at,
            "payment.unmatched",
            f"{summary} — no open job to attach it to",
            event.source,
            True,
        )
        return
    jobs.advance(ctx, job, JobStatus.PAID, event.occurred_at, {}, summary, event.source, event)


def on_refund(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """A refund goes on the customer's timeline; the job keeps its status (the work was still done)."""
    assert isinstance(event, ev.PaymentRefunded)
    _, customer_id = _match(ctx, event)
    summary = f"Refund issued{jobs.money(event.amount_cents)} ({event.payment_ref})"
    ctx.store.add_activity(customer_id, event.occurred_at, "payment.refunded", summary, event.source, True)
    ctx.publish(Refunded(customer_id, event.occurred_at, summary=summary))


def _match(ctx: HandlerContext, event: ev.PaymentReceived | ev.PaymentRefunded) -> tuple[JobRecord | None, str]:
    store = ctx.store
    job = None
    if event.job_ref:
        job = (
            store.job_by_external(event.job_source, event.job_ref) if event.job_source else store.get_job(event.job_ref)
        )
    if job is not None:
        return job, job.customer_id
    snapshot = event.customer or ev.CustomerSnapshot(external_id="")
    region = ctx.settings.default_phone_region
    phones = [p for p in (normalize_phone(raw, region) for raw in snapshot.phones) if p]
    emails = [e for e in (normalize_email(raw) for raw in snapshot.emails) if e]
    customer_id = customers.match(ctx, phones, emails)
    if customer_id is None:
        ref = f" (job {event.job_ref})" if event.job_ref else ""
        raise Unattachable(f"payment {event.payment_ref}{ref} matches no job or customer by reference, email or phone")
    return store.latest_open_job(customer_id), customer_id
