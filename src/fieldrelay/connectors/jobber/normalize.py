"""Jobber items (as fetched) to canonical events; one builder per handled webhook topic.

The item is read as it is *now* and stamped with the webhook's ``occurredAt``, so a late webhook re-describes
the current state at its older time and the lifecycle rules keep it from rolling anything back. For the same
reason only topics that are themselves a step map to a lifecycle event (a ``*_UPDATE`` after payment must never
say "completed" again); see ``TOPICS`` in inbound.py for the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fieldrelay.connectors.jobber.schemas import (
    JAddress,
    JClient,
    JInvoice,
    JJob,
    JPaymentRecord,
    JQuote,
    JRequest,
    JVisit,
    WebHookEvent,
)
from fieldrelay.domain import events as ev
from fieldrelay.domain.contact import normalize_country
from fieldrelay.service.ports import Parsed, ParseError

NAME = "jobber"

M = TypeVar("M", bound=BaseModel)
Builder = Callable[[WebHookEvent, dict[str, Any]], Parsed]

_QUOTE_SENT = {"awaitingresponse"}
_QUOTE_ACCEPTED = {"approved", "converted"}


def validate(model: type[M], data: object) -> M:
    """``model`` from ``data``, or ParseError naming the first problems."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        raise ParseError(f"unexpected Jobber {model.__name__.removeprefix('J')}: " + "; ".join(parts)) from exc


def _squash(value: str | None) -> str:
    return re.sub(r"[^a-z]", "", (value or "").lower())


def _clip(value: str | None, size: int) -> str | None:
    value = (value or "").replace("\x00", "").strip()
    return value[:size] if value else None


def _cents(amount: float | None) -> int | None:
    return None if amount is None else int((Decimal(str(amount)) * 100).quantize(Decimal(1)))


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is not None else None  # Jobber sends offsets; drop a naive time


def _address(addr: JAddress | None) -> ev.Address | None:
    if addr is None:
        return None
    result = ev.Address(
        street=_clip(addr.street1, 200),
        unit=_clip(addr.street2, 50),
        city=_clip(addr.city, 100),
        state=_clip(addr.province, 50),
        postal_code=_clip(addr.postal_code, 20),
        country=normalize_country(addr.country),
    )
    return None if result.is_empty() else result


def _primary_first(values: Sequence[tuple[str | None, bool | None]], size: int) -> tuple[str, ...]:
    ordered = sorted(values, key=lambda v: not v[1])
    return tuple(c for c in (_clip(v, size) for v, _ in ordered) if c)


def customer(client: JClient | None, fallback: JAddress | None = None) -> ev.CustomerSnapshot | None:
    """The client as a canonical snapshot (a company without a person's name goes by its company name)."""
    if client is None:
        return None
    first, last = _clip(client.first_name, 80), _clip(client.last_name, 80)
    if not first and not last:
        first = _clip(client.company_name, 80)
    return ev.CustomerSnapshot(
        external_id=client.id,
        first_name=first,
        last_name=last,
        phones=_primary_first([(p.number, p.primary) for p in client.phones], 40),
        emails=_primary_first([(e.address, e.primary) for e in client.emails], 254),
        address=_address(client.billing_address) or _address(fallback),
    )


def _job(job: JJob, visit: JVisit | None = None) -> ev.JobSnapshot:
    technicians: tuple[str, ...] = ()
    if visit is not None and visit.assigned_users is not None:
        names = (_clip(u.name.full if u.name else None, 100) for u in visit.assigned_users.nodes)
        technicians = tuple(n for n in names if n)
    start, end = (visit.start_at, visit.end_at) if visit is not None else (job.start_at, job.end_at)
    return ev.JobSnapshot(
        external_id=job.id,
        description=_clip(job.title, 2000),
        scheduled_start=_aware(start),
        scheduled_end=_aware(end),
        technicians=technicians,
        total_cents=_cents(job.total),
        address=_address(job.property.address if job.property else None),
    )


def _job_customer(job: JJob) -> ev.CustomerSnapshot | None:
    return customer(job.client, job.property.address if job.property else None)


def _one(topic: str, event: ev.FieldEvent) -> Parsed:
    return Parsed(event_type=topic, events=(event,))


# --- builders -------------------------------------------------------------------------------------------


def _client(kind: type[ev.CustomerCreated] | type[ev.CustomerUpdated]) -> Builder:
    def build(hook: WebHookEvent, item: dict[str, Any]) -> Parsed:
        snapshot = customer(validate(JClient, item))
        return _one(hook.topic, kind(source=NAME, occurred_at=hook.occurred_at, customer=snapshot))

    return build


def job_create(hook: WebHookEvent, item: dict[str, Any]) -> Parsed:
    """JOB_CREATE → JobBooked, with the job's schedule."""
    job = validate(JJob, item)
    event = ev.JobBooked(source=NAME, occurred_at=hook.occurred_at, customer=_job_customer(job), job=_job(job))
    return _one(hook.topic, event)


def visit_update(hook: WebHookEvent, item: dict[str, Any]) -> Parsed:
    """VISIT_UPDATE → JobArrived while a timer runs on an unfinished visit; any other edit says nothing."""
    visit = validate(JVisit, item)
    entries = visit.time_sheet_entries.nodes if visit.time_sheet_entries else []
    if visit.is_complete or not any(e.ticking for e in entries):
        return Parsed(event_type=hook.topic, ignored="visit edited without a running timer: no lifecycle step")
    job = visit.job
    event = ev.JobArrived(source=NAME, occurred_at=hook.occurred_at, customer=_job_customer(job), job=_job(job, visit))
    return _one(hook.topic, event)


def visit_complete(hook: WebHookEvent, item: dict[str, Any]) -> Parsed:
    """VISIT_COMPLETE → JobCompleted when it was the job's last scheduled visit (or the job is completed)."""
    visit = validate(JVisit, item)
    job = visit.job
    if not visit.is_complete and visit.completed_at is None:
        return Parsed(event_type=hook.topic, ignored="visit is no longer complete")
    if not visit.is_last_scheduled_visit and job.completed_at is None:
        return Parsed(event_type=hook.topic, ignored="visit completed; the job has more visits scheduled")
    event = ev.JobCompleted(
        source=NAME, occurred_at=hook.occurred_at, customer=_job_customer(job), job=_job(job, visit)
    )
    return _one(hook.topic, event)


def quote_event(hook: WebHookEvent, item: dict[str, Any]) -> Parsed:
    """QUOTE_CREATE / QUOTE_UPDATE: awaiting_response → EstimateSent, approved/converted → EstimateAccepted."""
    quote = validate(JQuote, item)
    status = _squash(quote.quote_status)
    kind: type[ev.EstimateEvent]
    if status in _QUOTE_ACCEPTED:
        kind = ev.EstimateAccepted
    elif status in _QUOTE_SENT:
        kind = ev.EstimateSent
    else:
        return Parsed(event_type=hook.topic, ignored=f"quote status {quote.quote_status!r} decides nothing")
    title = _clip(quote.title, 200)
    snapshot = ev.EstimateSnapshot(
        external_id=quote.id,
        number=_clip(str(quote.quote_number) if quote.quote_number is not None else None, 50),
        total_cents=_cents(quote.amounts.total if quote.amounts else None),
        options=(title,) if title else (),
    )
    event = kind(source=NAME, occurred_at=hook.occurred_at, customer=customer(quote.client), estimate=snapshot)
    return _one(hook.topic, event)


def invoice_create(hook: WebHookEvent, item: dict[str, Any]) -> Parsed:
    """INVOICE_CREATE → JobInvoiced for each job the invoice bills (drafts included: creation counts as issued)."""
    invoice = validate(JInvoice, item)
    jobs = invoice.jobs.nodes if invoice.jobs else []
    if not jobs:
        return Parsed(event_type=hook.topic, ignored=f"invoice {invoice.invoice_number or invoice.id} bills no job")
    amount = _cents(invoice.amounts.total if invoice.amounts else None)
    events = tuple(
        ev.JobInvoiced(
            source=NAME,
            occurred_at=hook.occurred_at,
            customer=customer(invoice.client, job.property.address if job.property else None),
            job=_job(job),
            invoice_id=invoice.id,
            amount_cents=amount,
        )
        for job in jobs
    )
    return Parsed(event_type=hook.topic, events=events)


def payment_create(hook: WebHookEvent, item: dict[str, Any]) -> Parsed:
    """PAYMENT_CREATE → PaymentCaptured (the job paid) once the payment settles its invoice in full."""
    payment = validate(JPaymentRecord, item)
    invoice = payment.invoice
    if invoice is None:
        return Parsed(event_type=hook.topic, ignored="payment not applied to an invoice (a deposit or account credit)")
    balance = invoice.amounts.invoice_balance if invoice.amounts else None
    paid = _squash(invoice.invoice_status) == "paid" or (balance is not None and balance <= 0)
    number = invoice.invoice_number or invoice.id
    if not paid:
        owed = f"${balance:,.2f}" if balance is not None else "a balance"
        return Parsed(event_type=hook.topic, ignored=f"partial payment on invoice {number}: {owed} still owed")
    jobs = invoice.jobs.nodes if invoice.jobs else []
    if not jobs:
        return Parsed(event_type=hook.topic, ignored=f"invoice {number} is paid but bills no job")
    client = payment.client or invoice.client
    events = tuple(
        ev.PaymentCaptured(
            source=NAME,
            occurred_at=hook.occurred_at,
            customer=customer(client, job.property.address if job.property else None),
            job=_job(job),
            payment_ref=payment.id,
            amount_cents=_cents(payment.amount),
        )
        for job in jobs
    )
    return Parsed(event_type=hook.topic, events=events)


def request_create(hook: WebHookEvent, item: dict[str, Any]) -> Parsed:
    """REQUEST_CREATE → LeadReceived, with the request's own contact details added to the client's."""
    request = validate(JRequest, item)
    if request.client is None:
        raise ParseError(f"Jobber request {request.id} has no client")
    base = customer(request.client, request.property.address if request.property else None)
    assert base is not None
    phone, email = _clip(request.phone, 40), _clip(request.email, 254)
    snapshot = ev.CustomerSnapshot(
        external_id=base.external_id,
        first_name=base.first_name,
        last_name=base.last_name,
        phones=base.phones + ((phone,) if phone and phone not in base.phones else ()),
        emails=base.emails + ((email,) if email and email not in base.emails else ()),
        address=base.address,
        lead_source=_clip(request.source, 100),
    )
    event = ev.LeadReceived(
        source=NAME,
        occurred_at=hook.occurred_at,
        customer=snapshot,
        lead_ref=request.id,
        service=_clip(request.title, 200),
        channel=NAME,
    )
    return _one(hook.topic, event)


client_create = _client(ev.CustomerCreated)
client_update = _client(ev.CustomerUpdated)
