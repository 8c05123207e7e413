"""Stripe inbound webhooks: verify with the official SDK, identify by event id, normalise payments and refunds.

Vendor-published (verified), see https://docs.stripe.com/webhooks and https://docs.stripe.com/api/events:

- signature: ``Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=…]``, checked
  here by the ``stripe`` SDK; during a secret roll Stripe sends one ``v1`` per active secret and one match is enough;
- envelope: ``{"id": "evt_…", "object": "event", "type", "created", "data": {"object", "previous_attributes"}}``;
  Stripe may deliver an event more than once and in any order, so the event id is the dedupe key;
- objects: PaymentIntent, Charge and Invoice as in the API reference (amounts in the currency's minor unit).

fieldrelay's own conventions (not Stripe's): the shop names the job a payment is for in the object's ``metadata``
(``job_id``, optionally ``job_source`` = the field tool connector that job id belongs to, e.g. "housecallpro";
synonyms in ``JOB_ID_KEYS`` / ``JOB_SOURCE_KEYS``). Without them the payment is matched by the payer's email/phone.

One payment makes several events (``payment_intent.succeeded`` and ``charge.succeeded``; an invoice's
PaymentIntent too). All of them name the payment by the same ``payment_ref`` (the PaymentIntent id when there is
one), and the job handler does not mark a paid job paid again in a way that sends anything twice. But an event
that is only the echo of another (a PaymentIntent's charge; an invoice's PaymentIntent, where the API version
still links them) is applied only when it names the job itself: matched by contact instead, it would land on the
customer's next open job, the first one being paid already.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fieldrelay.connectors.stripe.schemas import (
    BillingDetails,
    Charge,
    Invoice,
    PaymentIntent,
    StripeAddress,
    StripeEvent,
)
from fieldrelay.domain import events as ev
from fieldrelay.service.payloads import load_json
from fieldrelay.service.ports import Identified, Parsed, ParseError, Received, WebhookRequest

NAME = "stripe"
SIGNATURE_HEADER = "stripe-signature"

# Metadata keys naming the job (first found wins); documented in docs/connectors.md.
JOB_ID_KEYS = ("job_id", "fieldrelay_job_id", "jobId", "job")
JOB_SOURCE_KEYS = ("job_source", "fieldrelay_job_source", "jobSource", "job_system")

M = TypeVar("M", bound=BaseModel)

# Stripe's event ids ("evt_…", ~30 characters) and types ("charge.succeeded") are short printable ASCII; anything
# else is not one, and must not reach the inbox's 100/200-character key columns.
_TOKEN = re.compile(r"[\x21-\x7e]{1,100}")
_IGNORED = {
    "checkout.session.completed": "the payment itself is reported by payment_intent.succeeded",
    "charge.captured": "captures are reported by payment_intent.succeeded / charge.succeeded",
    "charge.updated": "a charge update changes no payment state fieldrelay keeps",
    "refund.created": "refunds are reported by charge.refunded",
    "refund.updated": "refunds are reported by charge.refunded",
    "charge.refund.updated": "refunds are reported by charge.refunded",
    "invoice.payment_succeeded": "the payment is reported by invoice.paid",
}


class StripeInbound:
    """Stripe webhook receiver."""

    name = NAME
    rate_limit_per_minute: int | None = None
    kept_headers: tuple[str, ...] = ()

    def __init__(self, secret: str | None, tolerance_seconds: int = 300) -> None:
        self._secret = secret
        self._tolerance = tolerance_seconds

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """None when the SDK accepts the signature and ``t=`` is within the tolerance of ``now``; else why not."""
        if not self._secret:
            return "no secret configured"
        header = request.headers.get(SIGNATURE_HEADER, "")
        if not header.strip():
            return "missing Stripe-Signature header"
        timestamp = signed_timestamp(header)
        if timestamp is None:
            return "unreadable Stripe-Signature header"
        # Imported on the first check, not with the module: the SDK holds about 30 MB, which a worker process (it
        # parses, never verifies) and an API that takes no payments never need.
        from stripe import SignatureVerificationError, WebhookSignature

        try:
            # tolerance=None: the SDK would compare t= with time.time(), the wall clock, but fieldrelay's clock is
            # injectable (tests and the demo run on a simulated one), and the SDK takes no "now". So the SDK checks
            # only the signature here and the window is checked against ``now`` below, both ways (the SDK refuses
            # only old timestamps; one far in the future is as suspect).
            WebhookSignature.verify_header(request.body, header, self._secret, tolerance=None)
        except SignatureVerificationError:
            return "bad signature"
        except Exception:
            # verify must never raise: a body that is not UTF-8 (Stripe signs text) or a non-ASCII v1 value, which
            # hmac.compare_digest refuses to compare, makes the SDK raise ValueError / TypeError; both are refusals.
            return "bad signature"
        if abs(int(now.timestamp()) - timestamp) > self._tolerance:
            return "timestamp outside the allowed window"
        return None

    def split(self, body: bytes) -> tuple[bytes]:
        """Stripe sends one event per delivery."""
        return (body,)

    def identify(self, body: bytes) -> Identified:
        """The event id (``evt_…``) is the dedupe key; the event type names the delivery."""
        data = _load(body)
        event_id, event_type = data.get("id"), data.get("type")
        if not isinstance(event_id, str) or not _TOKEN.fullmatch(event_id):
            raise ParseError("missing or malformed event 'id'")
        if not isinstance(event_type, str) or not _TOKEN.fullmatch(event_type):
            raise ParseError("missing or malformed event 'type'")
        return Identified(dedupe_key=event_id, event_type=event_type)

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """The canonical events this delivery stands for."""
        data = _load(body)
        if data.get("object") == "v2.core.event":
            raise ParseError("a thin event notification: configure the Stripe endpoint for snapshot (v1) events")
        event = _validate(StripeEvent, data)
        if event.object != "event":
            raise ParseError(f"object is {event.object!r}, not 'event'")
        builder = _BUILDERS.get(event.type)
        if builder is None:
            return Parsed(event_type=event.type, ignored=_IGNORED.get(event.type, "event type not used by fieldrelay"))
        return builder(event)


def signed_timestamp(header: str) -> int | None:
    """The ``t=`` of a Stripe-Signature header read as the SDK reads it (first ``t``), or None."""
    try:
        pairs = [item.split("=", 2) for item in header.split(",")]
        return int(next(pair[1] for pair in pairs if pair[0] == "t"))
    except (StopIteration, IndexError, ValueError):
        return None


# --- parsing ---------------------------------------------------------------------------------------


def _load(body: bytes) -> dict[str, Any]:
    if b"\\u0000" in body.lower():
        # Stripe never sends one, and no text column (PostgreSQL's least of all) can hold it.
        raise ParseError("body contains a NUL character")
    data = load_json(body)
    if not isinstance(data, dict):
        raise ParseError("body is not a JSON object")
    return data


def _validate(model: type[M], data: object) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        raise ParseError(f"unexpected {model.__name__}: " + "; ".join(parts)) from exc


def _occurred_at(event: StripeEvent) -> datetime:
    """When Stripe created the event, i.e. when the payment state changed."""
    try:
        return datetime.fromtimestamp(event.created, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ParseError(f"event 'created' {event.created} is not a time") from exc


def _object(event: StripeEvent, model: type[M], kind: str) -> M:
    obj = event.data.object
    if obj.get("object") != kind:
        raise ParseError(f"{event.type}: data.object is {obj.get('object')!r}, expected {kind!r}")
    return _validate(model, obj)


def _job_ref(metadata: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """The (job id, job source) the shop put in the object's metadata."""
    meta = metadata or {}
    job_id = next((str(meta[k]).strip() for k in JOB_ID_KEYS if str(meta.get(k) or "").strip()), None)
    source = next((str(meta[k]).strip().lower() for k in JOB_SOURCE_KEYS if str(meta.get(k) or "").strip()), None)
    return job_id, (source if job_id else None)


def _address(addr: StripeAddress | None) -> ev.Address | None:
    if addr is None:
        return None
    result = ev.Address(
        street=addr.line1,
        unit=addr.line2,
        city=addr.city,
        state=addr.state,
        postal_code=addr.postal_code,
        country=addr.country,
    )
    return None if result.is_empty() else result


def _payer(
    customer_id: str | None,
    payment_ref: str,
    name: str | None,
    phones: list[str | None],
    emails: list[str | None],
    address: StripeAddress | None,
) -> ev.CustomerSnapshot:
    """The payer as Stripe knows them; external id: the Stripe customer, else the payment itself."""
    first, last = _split_name(name)
    return ev.CustomerSnapshot(
        external_id=customer_id or payment_ref,
        first_name=first,
        last_name=last,
        phones=_unique(phones),
        emails=_unique(emails),
        address=_address(address),
    )


def _split_name(name: str | None) -> tuple[str | None, str | None]:
    """ "Jenny Rosen" → ("Jenny", "Rosen"); the last word is the last name (Stripe keeps one name field)."""
    parts = (name or "").split()
    if not parts:
        return None, None
    if len(parts) == 1:
        return parts[0], None
    return " ".join(parts[:-1]), parts[-1]


def _unique(values: list[str | None]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if value and value.strip():
            seen.setdefault(value.strip(), None)
    return tuple(seen)


def _billing(details: BillingDetails | None) -> BillingDetails:
    return details or BillingDetails()


def _payment_intent_succeeded(event: StripeEvent) -> Parsed:
    pi = _object(event, PaymentIntent, "payment_intent")
    job_ref, job_source = _job_ref(pi.metadata)
    if pi.invoice and not job_ref:
        return Parsed(
            event.type, ignored=f"PaymentIntent of invoice {pi.invoice}: the payment is reported by invoice.paid"
        )
    # Before API version 2022-11-15 the charges (with the payer's billing details) are embedded.
    billing = _billing(pi.charges.data[0].billing_details if pi.charges and pi.charges.data else None)
    payer = _payer(
        pi.customer, pi.id, billing.name, [billing.phone], [pi.receipt_email, billing.email], billing.address
    )
    return _received(event, pi.id, pi.amount_received or pi.amount, pi.currency, (job_ref, job_source), payer)


def _charge_succeeded(event: StripeEvent) -> Parsed:
    charge = _object(event, Charge, "charge")
    if charge.captured is False:
        return Parsed(event.type, ignored=f"charge {charge.id} is authorised, not captured yet")
    job_ref, job_source = _job_ref(charge.metadata)
    if charge.payment_intent and not job_ref:
        return Parsed(
            event.type,
            ignored=f"charge of PaymentIntent {charge.payment_intent}: the payment is reported by "
            "payment_intent.succeeded (this charge names no job_id in its metadata)",
        )
    if charge.invoice and not job_ref:
        return Parsed(
            event.type, ignored=f"charge of invoice {charge.invoice}: the payment is reported by invoice.paid"
        )
    payment_ref = charge.payment_intent or charge.id
    amount = charge.amount_captured if charge.amount_captured else charge.amount
    payer = _charge_payer(charge, payment_ref)
    return _received(event, payment_ref, amount, charge.currency, (job_ref, job_source), payer)


def _charge_payer(charge: Charge, payment_ref: str) -> ev.CustomerSnapshot:
    billing = _billing(charge.billing_details)
    return _payer(
        charge.customer,
        payment_ref,
        billing.name,
        [billing.phone],
        [charge.receipt_email, billing.email],
        billing.address,
    )


def _invoice_paid(event: StripeEvent) -> Parsed:
    invoice = _object(event, Invoice, "invoice")
    job_ref, job_source = _job_ref(invoice.metadata)
    payment_ref = invoice.payment_intent or _invoice_payment_intent(invoice) or invoice.id
    amount = invoice.amount_paid if invoice.amount_paid is not None else invoice.total
    payer = _payer(
        invoice.customer,
        payment_ref,
        invoice.customer_name,
        [invoice.customer_phone],
        [invoice.customer_email],
        invoice.customer_address,
    )
    return _received(event, payment_ref, amount, invoice.currency, (job_ref, job_source), payer)


def _invoice_payment_intent(invoice: Invoice) -> str | None:
    """The PaymentIntent that paid the invoice, from ``payments`` (2025-03-31.basil and later) when included."""
    for item in invoice.payments.data if invoice.payments else []:
        if item.status in (None, "paid") and item.payment and item.payment.payment_intent:
            return item.payment.payment_intent
    return None


def _charge_refunded(event: StripeEvent) -> Parsed:
    charge = _object(event, Charge, "charge")
    job_ref, job_source = _job_ref(charge.metadata)
    payment_ref = charge.payment_intent or charge.id
    total = charge.amount_refunded
    # amount_refunded is the running total; previous_attributes holds the total before this refund.
    before = (event.data.previous_attributes or {}).get("amount_refunded")
    amount = total - before if isinstance(total, int) and isinstance(before, int) and total >= before else total
    refund = ev.PaymentRefunded(
        source=NAME,
        occurred_at=_occurred_at(event),
        customer=_charge_payer(charge, payment_ref),
        payment_ref=payment_ref,
        amount_cents=amount,
        currency=charge.currency,
        job_ref=job_ref,
        job_source=job_source,
    )
    return Parsed(event_type=event.type, events=(refund,))


def _received(
    event: StripeEvent,
    payment_ref: str,
    amount: int | None,
    currency: str,
    job: tuple[str | None, str | None],
    payer: ev.CustomerSnapshot,
) -> Parsed:
    """The delivery as one PaymentReceived."""
    received = ev.PaymentReceived(
        source=NAME,
        occurred_at=_occurred_at(event),
        customer=payer,
        payment_ref=payment_ref,
        amount_cents=amount,
        currency=currency,
        job_ref=job[0],
        job_source=job[1],
    )
    return Parsed(event_type=event.type, events=(received,))


_BUILDERS: dict[str, Callable[[StripeEvent], Parsed]] = {
    "payment_intent.succeeded": _payment_intent_succeeded,
    "charge.succeeded": _charge_succeeded,
    "invoice.paid": _invoice_paid,
    "charge.refunded": _charge_refunded,
}

HANDLED_EVENTS = tuple(_BUILDERS)
