"""ServiceTitan inbound V2 webhooks: verify, identify and normalise to canonical events.

Vendor-published (verified): V2 webhooks are POSTed as JSON to the callback URL chosen per event in the
developer portal; with an HMAC key configured (32-64 characters) each delivery carries an HMAC of the payload
in a request header; failed deliveries are retried after 10, 30, 60 and 300 seconds
(https://developer-next.servicetitan.io/docs/webhooks, https://public-api-developer.st.dev/docs/faqs-v2-webhooks).
Entity shapes: JPM v2 jobs and appointments, sales v2 estimates (key lists observed on live objects, see
../shared/payloads/servicetitan/).

Not public (unverified, configurable or tolerant here; docs/connectors.md marks the connector unverified):

- the signature header and its encoding: ``connectors.servicetitan.signature_header`` (default
  ``ST-Signature``) and ``signature_encoding`` (default ``base64``, or ``hex``); a ``sha256=`` prefix is
  tolerated. There is no signed timestamp, so no replay window: redeliveries are caught by the dedupe key.
- event names and the envelope. Accepted: a JSON object with the event name in ``eventType`` or ``event``;
  its time in ``timestamp``, ``createdOn``, ``occurredOn`` or ``eventTime`` (else the entity's ``modifiedOn``;
  times without a zone are read as UTC, as ServiceTitan's API gives UTC); the entity in ``data``, ``entity`` or
  ``payload``; optionally ``eventId`` / ``webhookEventId`` and ``tenantId``. One event per delivery.
- which entity it is: the first of estimate, appointment, job, customer named in the event name (any
  separators or camelCase, singular or plural), else the entity's shape (``jobStatus`` → job;
  ``appointmentNumber`` or ``jobId`` + ``start`` → appointment; ``soldOn`` / ``reviewStatus`` → estimate).

Dedupe key: ``eventId`` when present, else a hash of event name, entity kind and id, and ``modifiedOn`` (or
the envelope time). Lifecycle mapping (case and spacing ignored):

- job ``jobStatus``: Scheduled → JobBooked, InProgress → JobArrived, Completed → JobCompleted,
  Canceled → JobCancelled; Hold → acknowledged and ignored (a pause is not a lifecycle step; the job keeps its
  status until it moves on);
- appointment ``status``: Scheduled → JobBooked (with the appointment window), Dispatched → JobDispatched,
  Working → JobArrived, Done → JobCompleted (a job with several appointments reads completed until its next
  appointment's event); Canceled → ignored (ServiceTitan reschedules by cancelling one appointment and booking
  another; a cancelled job arrives as a job event with ``jobStatus`` Canceled);
- estimate: status Sold (or event name "sold") → EstimateAccepted, Dismissed → EstimateDeclined, an event name
  saying "sent"/"emailed" → EstimateSent; a created or edited estimate that says none of these is ignored;
- customer (when a delivery is about a customer object): CustomerCreated when the event name says
  created/added, else CustomerUpdated.

ServiceTitan entities carry ``customerId``, not the customer: events carry ``customer=None`` unless the delivery
embeds a ``customer`` object (CRM v2 shape plus ``contacts: [{type, value}]``; its single ``name`` is split at the
first space into first and last name). The service then attaches a job event to the customer of the job it
already knows; an unknown job or estimate with no embedded customer goes to the error queue as unattachable.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fieldrelay.connectors.servicetitan.schemas import (
    StAddress,
    StAppointment,
    StCustomer,
    StEnvelope,
    StEstimate,
    StJob,
)
from fieldrelay.connectors.servicetitan.signature import Encoding, signature_matches
from fieldrelay.domain import events as ev
from fieldrelay.domain.contact import normalize_country
from fieldrelay.service.payloads import load_json
from fieldrelay.service.ports import Identified, Parsed, ParseError, Received, WebhookRequest

NAME = "servicetitan"

_KIND_WORDS = {
    "estimate": "estimate",
    "estimates": "estimate",
    "appointment": "appointment",
    "appointments": "appointment",
    "job": "job",
    "jobs": "job",
    "customer": "customer",
    "customers": "customer",
}
_KIND_ORDER = ("estimate", "appointment", "job", "customer")

JOB_STATUSES: dict[str, type[ev.JobEvent]] = {
    "scheduled": ev.JobBooked,
    "inprogress": ev.JobArrived,
    "completed": ev.JobCompleted,
    "canceled": ev.JobCancelled,
    "cancelled": ev.JobCancelled,
}
JOB_IGNORED = {"hold": "job put on hold: a pause is not a lifecycle step; the job keeps its status until it moves on"}

APPOINTMENT_STATUSES: dict[str, type[ev.JobEvent]] = {
    "scheduled": ev.JobBooked,
    "dispatched": ev.JobDispatched,
    "working": ev.JobArrived,
    "done": ev.JobCompleted,
}
_APPOINTMENT_CANCELED = (
    "appointment cancelled: a job is cancelled by its own Canceled status, not by one of its appointments"
)
APPOINTMENT_IGNORED = {"canceled": _APPOINTMENT_CANCELED, "cancelled": _APPOINTMENT_CANCELED}


M = TypeVar("M", bound=BaseModel)


class ServiceTitanInbound:
    """ServiceTitan V2 webhook receiver."""

    name = NAME
    rate_limit_per_minute: int | None = None
    kept_headers: tuple[str, ...] = ()

    def __init__(
        self, secret: str | None, signature_header: str = "ST-Signature", signature_encoding: Encoding = "base64"
    ) -> None:
        self._secret = secret
        self._header = signature_header.lower()
        self._encoding: Encoding = signature_encoding

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """None when the HMAC header matches the raw body, else why the delivery is refused."""
        if not self._secret:
            return "no secret configured"
        signature = request.headers.get(self._header)
        if not signature:
            return "missing signature header"
        if not signature_matches(self._secret, request.body, signature, self._encoding):
            return "bad signature"
        return None

    def split(self, body: bytes) -> tuple[bytes]:
        """One event per delivery."""
        return (body,)

    def identify(self, body: bytes) -> Identified:
        """Event name plus the event id, else a hash of the fields that identify the change."""
        data = _load(body)
        event = data.get("eventType", data.get("event"))
        if not isinstance(event, str) or not event.strip():
            raise ParseError("missing event name ('eventType' or 'event')")
        entity = _entity(data)
        event_type = _event_type(event)
        explicit = data.get("eventId", data.get("webhookEventId"))
        if isinstance(explicit, str | int) and not isinstance(explicit, bool) and str(explicit):
            key = f"id:{explicit}"
            if len(key) > 150 or not key.isprintable():
                key = "id#" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:40]
            return Identified(dedupe_key=key, event_type=event_type)
        changed = entity.get("modifiedOn") or next(
            (data[k] for k in ("timestamp", "createdOn", "occurredOn", "eventTime") if data.get(k)), None
        )
        basis = json.dumps([event, _kind(event, entity), entity.get("id"), changed], default=str)
        return Identified(dedupe_key="h:" + hashlib.sha256(basis.encode()).hexdigest()[:40], event_type=event_type)

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """The canonical events this delivery stands for."""
        envelope = _validate(StEnvelope, _load(body))
        event_type = _event_type(envelope.event_type)
        kind = _kind(envelope.event_type, envelope.entity)
        builder = _BUILDERS.get(kind or "")
        if builder is None:
            return Parsed(event_type=event_type, ignored="event type not used by fieldrelay")
        return builder(envelope, event_type)


# --- reading the body -----------------------------------------------------------------------------------


def _load(body: bytes) -> dict[str, Any]:
    data = load_json(body)
    if not isinstance(data, dict):
        raise ParseError("body is not a JSON object")
    return data


def _entity(data: dict[str, Any]) -> dict[str, Any]:
    for key in ("data", "entity", "payload"):
        if key in data:
            value = data[key]
            if not isinstance(value, dict):
                raise ParseError(f"'{key}' is not a JSON object")
            return value
    raise ParseError("no entity object ('data', 'entity' or 'payload')")


def _validate(model: type[M], data: object) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        raise ParseError(f"unexpected {model.__name__} payload: " + "; ".join(parts)) from exc


def _event_type(name: str) -> str:
    # Stored in a 100-character column; NUL cannot be stored in PostgreSQL text at all.
    return name.replace("\x00", "")[:100]


def _tokens(name: str) -> list[str]:
    return [t.lower() for t in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


def _kind(event: str, entity: dict[str, Any]) -> str | None:
    named = {_KIND_WORDS[t] for t in _tokens(event) if t in _KIND_WORDS}
    for kind in _KIND_ORDER:
        if kind in named:
            return kind
    if "jobStatus" in entity:
        return "job"
    if "appointmentNumber" in entity or ("jobId" in entity and "start" in entity):
        return "appointment"
    if "soldOn" in entity or "reviewStatus" in entity:
        return "estimate"
    return None


def _squash(status: str | None) -> str:
    return re.sub(r"[^a-z]", "", (status or "").lower())


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _occurred_at(env: StEnvelope, modified_on: datetime | None) -> datetime:
    when = env.timestamp or modified_on
    if when is None:
        raise ParseError(f"{env.event_type}: no event time ('timestamp' or the entity's 'modifiedOn')")
    return _utc(when)


# --- canonical snapshots --------------------------------------------------------------------------------


def _clip(value: str | None, size: int) -> str | None:
    value = (value or "").replace("\x00", "").strip()
    return value[:size] if value else None


def _cents(*amounts: float | None) -> int | None:
    known = [a for a in amounts if a is not None]
    if not known:
        return None
    total = sum((Decimal(str(a)) for a in known), Decimal(0))
    return int((total * 100).quantize(Decimal(1)))


def _address(addr: StAddress | None) -> ev.Address | None:
    if addr is None:
        return None
    result = ev.Address(
        street=_clip(addr.street, 200),
        unit=_clip(addr.unit, 50),
        city=_clip(addr.city, 100),
        state=_clip(addr.state, 50),
        postal_code=_clip(addr.zip, 20),
        country=normalize_country(addr.country),
    )
    return None if result.is_empty() else result


def _customer(c: StCustomer | None, fallback: StAddress | None = None) -> ev.CustomerSnapshot | None:
    if c is None:
        return None
    first, _, last = (c.name or "").strip().partition(" ")
    kinds = [(_squash(x.type), _clip(x.value, 254)) for x in c.contacts]
    return ev.CustomerSnapshot(
        external_id=c.id,
        first_name=_clip(first, 80),
        last_name=_clip(last, 80),
        phones=tuple(v for k, v in kinds if v and "phone" in k),
        emails=tuple(v for k, v in kinds if v and k == "email"),
        address=_address(c.address) or _address(fallback),
    )


def _job_snapshot(job: StJob) -> ev.JobSnapshot:
    location = job.location.address if job.location else None
    return ev.JobSnapshot(
        external_id=job.id,
        description=_clip(job.summary, 2000),
        total_cents=_cents(job.total),
        address=_address(location),
    )


# --- builders -------------------------------------------------------------------------------------------


def _job_event(env: StEnvelope, event_type: str) -> Parsed:
    job = _validate(StJob, env.entity)
    status = _squash(job.job_status)
    if status in JOB_IGNORED:
        return Parsed(event_type=event_type, ignored=JOB_IGNORED[status])
    kind = JOB_STATUSES.get(status)
    if kind is None:
        return Parsed(event_type=event_type, ignored=f"job status {job.job_status!r} is not a lifecycle step")
    location = job.location.address if job.location else None
    event = kind(
        source=NAME,
        occurred_at=_occurred_at(env, job.modified_on),
        customer=_customer(job.customer, location),
        job=_job_snapshot(job),
    )
    return Parsed(event_type=event_type, events=(event,))


def _appointment_event(env: StEnvelope, event_type: str) -> Parsed:
    appt = _validate(StAppointment, env.entity)
    status = _squash(appt.status)
    if status in APPOINTMENT_IGNORED:
        return Parsed(event_type=event_type, ignored=APPOINTMENT_IGNORED[status])
    kind = APPOINTMENT_STATUSES.get(status)
    if kind is None:
        return Parsed(event_type=event_type, ignored=f"appointment status {appt.status!r} is not a lifecycle step")
    location = appt.location.address if appt.location else None
    snapshot = ev.JobSnapshot(
        external_id=appt.job_id,
        scheduled_start=_utc(appt.start) if appt.start else None,
        scheduled_end=_utc(appt.end) if appt.end else None,
        address=_address(location),
    )
    event = kind(
        source=NAME,
        occurred_at=_occurred_at(env, appt.modified_on),
        customer=_customer(appt.customer, location),
        job=snapshot,
    )
    return Parsed(event_type=event_type, events=(event,))


def _estimate_event(env: StEnvelope, event_type: str) -> Parsed:
    est = _validate(StEstimate, env.entity)
    status = _squash(est.status)
    words = set(_tokens(env.event_type))
    kind: type[ev.EstimateEvent]
    if status == "sold" or (status != "dismissed" and "sold" in words):
        kind = ev.EstimateAccepted
    elif status == "dismissed" or "dismissed" in words:
        kind = ev.EstimateDeclined
    elif words & {"sent", "emailed"}:
        kind = ev.EstimateSent
    else:
        shown = est.status or "without a status"
        return Parsed(event_type=event_type, ignored=f"estimate {shown} and not sent: decides nothing yet")
    snapshot = ev.EstimateSnapshot(
        external_id=est.id,
        total_cents=_cents(est.subtotal, est.tax),
        options=(n,) if (n := _clip(est.name, 200)) else (),
    )
    event = kind(
        source=NAME,
        occurred_at=_occurred_at(env, est.modified_on),
        customer=_customer(est.customer),
        estimate=snapshot,
    )
    return Parsed(event_type=event_type, events=(event,))


def _customer_event(env: StEnvelope, event_type: str) -> Parsed:
    customer = _validate(StCustomer, env.entity)
    words = set(_tokens(env.event_type))
    kind = ev.CustomerCreated if words & {"created", "create", "added"} else ev.CustomerUpdated
    event = kind(source=NAME, occurred_at=_occurred_at(env, customer.modified_on), customer=_customer(customer))
    return Parsed(event_type=event_type, events=(event,))


_BUILDERS: dict[str, Callable[[StEnvelope, str], Parsed]] = {
    "job": _job_event,
    "appointment": _appointment_event,
    "estimate": _estimate_event,
    "customer": _customer_event,
}
