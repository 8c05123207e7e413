"""Stripe webhook payload models: the event envelope and the objects fieldrelay reads.

Shapes follow Stripe's published API reference and the stripe-mock fixtures in stripe/openapi
(``openapi/fixtures3.json``; see ../shared/payloads/README.md). Only the fields fieldrelay reads are modelled;
unknown fields are allowed because Stripe adds fields in every API version, and fields removed in some versions
(``PaymentIntent.invoice``, ``Invoice.payment_intent`` before 2025-03-31.basil; ``PaymentIntent.charges`` before
2022-11-15) are optional. Money is an integer in the currency's smallest unit; times are Unix seconds.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _id_of(value: object) -> object:
    """An expandable field is an id or, when expanded, the object itself: keep only the id."""
    if isinstance(value, dict):
        return value.get("id")
    return value


# A reference to another Stripe object: its id, whether or not the webhook expanded it.
ObjectId = Annotated[str | None, BeforeValidator(_id_of)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class StripeAddress(_Lenient):
    """A postal address (billing details, invoice customer address)."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


class BillingDetails(_Lenient):
    """Who paid, as entered with the payment method."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: StripeAddress | None = None


class Charge(_Lenient):
    """A charge: one attempt to move money; a PaymentIntent makes one per attempt."""

    object: str = "charge"
    id: str
    amount: int
    amount_captured: int | None = None
    amount_refunded: int | None = None
    captured: bool | None = None
    paid: bool | None = None
    status: str | None = None
    currency: str
    created: int | None = None
    customer: ObjectId = None
    payment_intent: ObjectId = None
    invoice: ObjectId = None  # removed in 2025-03-31.basil
    metadata: dict[str, Any] | None = None
    receipt_email: str | None = None
    billing_details: BillingDetails | None = None


class ChargeList(_Lenient):
    """The embedded ``charges`` list of a PaymentIntent in API versions before 2022-11-15."""

    data: list[Charge] = Field(default_factory=list)


class PaymentIntent(_Lenient):
    """A PaymentIntent: one payment from creation to success."""

    object: str = "payment_intent"
    id: str
    amount: int
    amount_received: int | None = None
    currency: str
    status: str | None = None
    created: int | None = None
    customer: ObjectId = None
    invoice: ObjectId = None  # removed in 2025-03-31.basil
    latest_charge: ObjectId = None
    metadata: dict[str, Any] | None = None
    receipt_email: str | None = None
    charges: ChargeList | None = None  # removed in 2022-11-15


class InvoicePaymentRef(_Lenient):
    """``payment`` of an invoice payment (2025-03-31.basil and later)."""

    type: str | None = None
    payment_intent: ObjectId = None
    charge: ObjectId = None


class InvoicePayment(_Lenient):
    """One payment towards an invoice (``Invoice.payments``, when the webhook includes it)."""

    status: str | None = None
    payment: InvoicePaymentRef | None = None


class InvoicePaymentList(_Lenient):
    """The invoice's payments list."""

    data: list[InvoicePayment] = Field(default_factory=list)


class Invoice(_Lenient):
    """An invoice."""

    object: str = "invoice"
    id: str
    amount_paid: int | None = None
    amount_due: int | None = None
    total: int | None = None
    currency: str
    status: str | None = None
    customer: ObjectId = None
    customer_email: str | None = None
    customer_phone: str | None = None
    customer_name: str | None = None
    customer_address: StripeAddress | None = None
    payment_intent: ObjectId = None  # removed in 2025-03-31.basil
    payments: InvoicePaymentList | None = None  # 2025-03-31.basil and later, when included
    metadata: dict[str, Any] | None = None


class EventData(_Lenient):
    """``data`` of an event: the object as it is now, and the attributes that changed."""

    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class StripeEvent(_Lenient):
    """The webhook body: one snapshot event."""

    id: str = Field(min_length=1)
    object: str
    type: str = Field(pattern=r"^[\x21-\x7e]{1,100}$")
    created: int
    livemode: bool | None = None
    api_version: str | None = None
    data: EventData
