"""Housecall Pro inbound webhooks: verify, identify and normalise to canonical events.

Housecall Pro's webhook contract is not public. What is implemented here is known from integrators
(captured deliveries and their tests; see ../shared/payloads/README.md) and is marked unverified in the
connector table in docs/connectors.md:

- signature: ``Api-Signature`` = hex HMAC-SHA256(secret, "{Api-Timestamp}.{raw body}"), timestamp in Unix
  seconds; deliveries older than ``max_timestamp_age_seconds`` are refused as replays;
- envelope: ``{"event", "event_occurred_at", "company_id", <"customer"|"job"|"estimate"|"invoice">}``;
- deliveries carry no event id, so a delivery is identified by event name, occurrence time and object id;
- ``estimate.option.approval_status_change`` values "approved"/"pro approved" and "declined"/"pro declined";
- invoice events link their job through ``invoice.job_id`` or a top-level ``job`` object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from pydantic import ValidationError

from fieldrelay.connectors.housecallpro.schemas import (
    HcpAddress,
    HcpCustomer,
    HcpEnvelope,
    HcpEstimate,
    HcpJob,
)
from fieldrelay.connectors.housecallpro.signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    parse_timestamp,
    signature_matches,
)
from fieldrelay.domain import events as ev
from fieldrelay.domain.contact import display_name
from fieldrelay.service.payloads import load_json
from fieldrelay.service.ports import Identified, Parsed, ParseError, Received, WebhookRequest

NAME = "housecallpro"

_APPROVED = {"approved", "pro approved"}
_DECLINED = {"declined", "pro declined"}
_OBJECT_KEYS = ("job", "estimate", "invoice", "customer")


class HousecallProInbound:
    """Housecall Pro webhook receiver."""

    name = NAME
    rate_limit_per_minute: int | None = None
    kept_headers: tuple[str, ...] = ()

    def __init__(self, secret: str | None, max_timestamp_age_seconds: int = 300) -> None:
        self._secret = secret
        self._max_age = max_timestamp_age_seconds

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """None when the signature and timestamp are good, else why the delivery is refused."""
        headers, body = request.headers, request.body
        if not self._secret:
            return "no secret configured"
        signature = headers.get(SIGNATURE_HEADER.lower())
        raw_timestamp = headers.get(TIMESTAMP_HEADER.lower())
        if not signature or not raw_timestamp:
            return "missing signature headers"
        timestamp = parse_timestamp(raw_timestamp)
        if timestamp is None:
            return "unreadable timestamp"
        if abs(now.timestamp() - timestamp) > self._max_age:
            return "timestamp outside the allowed window"
        if not signature_matches(self._secret, raw_timestamp.strip(), body, signature):
            return "bad signature"
        return None

    def split(self, body: bytes) -> tuple[bytes]:
        """Housecall Pro sends one event per delivery."""
        return (body,)

    def identify(self, body: bytes) -> Identified:
        """Event name plus a key built from the fields that identify the delivery."""
        data = _load(body)
        event = data.get("event")
        if not isinstance(event, str) or not event:
            raise ParseError("missing 'event' name")
        explicit = data.get("event_id") or data.get("id")
        if isinstance(explicit, str) and explicit:
            return Identified(dedupe_key=f"id:{explicit}", event_type=event)
        object_id = ""
        for key in _OBJECT_KEYS:
            obj = data.get(key)
            if isinstance(obj, dict) and obj.get("id") is not None:
                object_id = f"{key}:{obj['id']}"
                break
        basis = f"{event}|{data.get('event_occurred_at')}|{object_id}"
        return Identified(dedupe_key="h:" + hashlib.sha256(basis.encode()).hexdigest()[:40], event_type=event)

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """The canonical events this delivery stands for."""
        data = _load(body)
        try:
            envelope = HcpEnvelope.model_validate(data)
        except ValidationError as exc:
            raise ParseError(_describe(exc)) from exc
        if envelope.event_occurred_at.tzinfo is None:
            raise ParseError("event_occurred_at has no time zone")
        builder = _BUILDERS.get(envelope.event)
        if builder is None:
            return Parsed(event_type=envelope.event, ignored="event type not used by fieldrelay")
        return builder(envelope)


def _load(body: bytes) -> dict[str, object]:
    data = load_json(body)
    if not isinstance(data, dict):
        raise ParseError("body is not a JSON object")
    return data


def _describe(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
    return "unexpected payload: " + "; ".join(parts)


def _address(addr: HcpAddress | None) -> ev.Address | None:
    if addr is None:
        return None
    result = ev.Address(
        street=addr.street,
        unit=addr.street_line_2,
        city=addr.city,
        state=addr.state,
        postal_code=addr.zip,
        country=addr.country,
    )
    return None if result.is_empty() else result


def _customer(c: HcpCustomer | None, fallback_address: HcpAddress | None = None) -> ev.CustomerSnapshot | None:
    if c is None:
        return None
    phones = tuple(p for p in (c.mobile_number, c.home_number, c.work_number) if p)
    address = _address(c.addresses[0]) if c.addresses else _address(fallback_address)
    return ev.CustomerSnapshot(
        external_id=c.id,
        first_name=c.first_name,
        last_name=c.last_name,
        phones=phones,
        emails=(c.email,) if c.email else (),
        address=address,
        lead_source=c.lead_source,
    )


def _job(job: HcpJob) -> ev.JobSnapshot:
    schedule = job.schedule
    return ev.JobSnapshot(
        external_id=job.id,
        description=job.description,
        service_type=job.job_fields.job_type.name if job.job_fields and job.job_fields.job_type else None,
        scheduled_start=schedule.scheduled_start if schedule else None,
        scheduled_end=schedule.scheduled_end if schedule else None,
        technicians=tuple(n for n in (display_name(e.first_name, e.last_name) for e in job.assigned_employees) if n),
        total_cents=job.total_amount,
        balance_cents=job.outstanding_balance,
        address=_address(job.address),
    )


def _customer_event(
    kind: type[ev.CustomerCreated] | type[ev.CustomerUpdated],
) -> Callable[[HcpEnvelope], Parsed]:
    def build(env: HcpEnvelope) -> Parsed:
        if env.customer is None:
            raise ParseError(f"{env.event} without a 'customer' object")
        event = kind(source=NAME, occurred_at=env.event_occurred_at, customer=_customer(env.customer))
        return Parsed(event_type=env.event, events=(event,))

    return build


def _job_event(kind: type[ev.JobEvent]) -> Callable[[HcpEnvelope], Parsed]:
    def build(env: HcpEnvelope) -> Parsed:
        job = _require_job(env)
        reason = job.work_status if kind is ev.JobCancelled else None
        extra: dict[str, object] = {"reason": reason} if kind is ev.JobCancelled else {}
        if kind is ev.PaymentCaptured:
            extra = {"amount_cents": job.total_amount, "payment_ref": f"job:{job.id}"}
        event = kind(
            source=NAME,
            occurred_at=env.event_occurred_at,
            customer=_customer(job.customer, job.address),
            job=_job(job),
            **extra,
        )
        return Parsed(event_type=env.event, events=(event,))

    return build


def _require_job(env: HcpEnvelope) -> HcpJob:
    if env.job is None:
        raise ParseError(f"{env.event} without a 'job' object")
    return env.job


def _invoice_event(env: HcpEnvelope) -> Parsed:
    invoice = env.invoice
    if invoice is None:
        raise ParseError(f"{env.event} without an 'invoice' object")
    job = env.job
    if job is None:
        raise ParseError(f"{env.event}: invoice {invoice.id} carries no job object to attach it to")
    if invoice.job_id and invoice.job_id != job.id:
        raise ParseError(f"{env.event}: invoice.job_id {invoice.job_id} differs from job.id {job.id}")
    customer, snapshot = _customer(job.customer, job.address), _job(job)
    event: ev.JobEvent
    if env.event == "invoice.paid":
        event = ev.PaymentCaptured(
            source=NAME,
            occurred_at=env.event_occurred_at,
            customer=customer,
            job=snapshot,
            payment_ref=f"invoice:{invoice.id}",
            amount_cents=invoice.amount,
        )
    else:
        event = ev.JobInvoiced(
            source=NAME,
            occurred_at=env.event_occurred_at,
            customer=customer,
            job=snapshot,
            invoice_id=invoice.id,
            amount_cents=invoice.amount,
        )
    return Parsed(event_type=env.event, events=(event,))


def _estimate(est: HcpEstimate) -> ev.EstimateSnapshot:
    totals = [o.total_amount for o in est.options if o.total_amount is not None]
    return ev.EstimateSnapshot(
        external_id=est.id,
        number=est.estimate_number,
        total_cents=max(totals) if totals else None,
        options=tuple(o.name for o in est.options if o.name),
    )


def _estimate_event(env: HcpEnvelope) -> Parsed:
    est = env.estimate
    if est is None:
        raise ParseError(f"{env.event} without an 'estimate' object")
    kind: type[ev.EstimateEvent]
    if env.event == "estimate.sent":
        kind = ev.EstimateSent
    else:
        statuses = {(o.approval_status or "").strip().lower() for o in est.options}
        if statuses & _APPROVED:
            kind = ev.EstimateAccepted
        elif statuses and statuses <= _DECLINED:
            kind = ev.EstimateDeclined
        else:
            return Parsed(event_type=env.event, ignored=f"approval status {sorted(statuses)} decides nothing yet")
    event = kind(
        source=NAME,
        occurred_at=env.event_occurred_at,
        customer=_customer(est.customer, est.address),
        estimate=_estimate(est),
    )
    return Parsed(event_type=env.event, events=(event,))


_BUILDERS: dict[str, Callable[[HcpEnvelope], Parsed]] = {
    "customer.created": _customer_event(ev.CustomerCreated),
    "customer.updated": _customer_event(ev.CustomerUpdated),
    "job.created": _job_event(ev.JobBooked),
    "job.scheduled": _job_event(ev.JobBooked),
    "job.appointment.rescheduled": _job_event(ev.JobRescheduled),
    "job.on_my_way": _job_event(ev.JobDispatched),
    "job.started": _job_event(ev.JobArrived),
    "job.completed": _job_event(ev.JobCompleted),
    "job.canceled": _job_event(ev.JobCancelled),
    "job.paid": _job_event(ev.PaymentCaptured),
    "invoice.created": _invoice_event,
    "invoice.paid": _invoice_event,
    "estimate.sent": _estimate_event,
    "estimate.option.approval_status_change": _estimate_event,
}

HANDLED_EVENTS = tuple(_BUILDERS)
