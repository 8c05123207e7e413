"""Jobber payload models: the thin webhook and the GraphQL objects the worker fetches.

The webhook is published (``WebHookPayload``, see setting_up_webhooks); apps created before 2023-12-08 spell the
time ``occuredAt``, both are accepted. The object fields follow the type overview in Jobber's developer docs
(https://developer.getjobber.com/docs) and are exactly what ``queries.py`` asks for. Unknown fields are allowed.
Money is in dollars (GraphQL ``Float``) and turned into cents by the connector.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("an amount cannot be a boolean")
    return value


def _finite(value: float | None) -> float | None:
    if value is not None and (not math.isfinite(value) or abs(value) > 1e9):
        raise ValueError("amount is not a finite number below a billion")
    return value


Money = Annotated[float | None, BeforeValidator(_not_bool), AfterValidator(_finite)]
EncodedId = Annotated[str, Field(min_length=1, max_length=100)]

T = TypeVar("T")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- the webhook ----------------------------------------------------------------------------------------


class WebHookEvent(_Lenient):
    """``data.webHookEvent``: what changed, never the item itself."""

    topic: str = Field(min_length=1)
    app_id: str | None = Field(default=None, alias="appId")
    account_id: str | None = Field(default=None, alias="accountId")
    item_id: EncodedId = Field(alias="itemId")
    occurred_at: datetime = Field(validation_alias=AliasChoices("occurredAt", "occuredAt"))


class WebHookData(_Lenient):
    """``data``."""

    web_hook_event: WebHookEvent = Field(alias="webHookEvent")


class WebHookPayload(_Lenient):
    """The webhook body."""

    data: WebHookData


# --- fetched objects ------------------------------------------------------------------------------------


class Nodes(_Lenient, Generic[T]):
    """A connection's ``nodes``."""

    nodes: list[T] = Field(default_factory=list)


class JAddress(_Lenient):
    """``ClientAddress`` / ``PropertyAddress``."""

    street1: str | None = None
    street2: str | None = None
    city: str | None = None
    province: str | None = None
    postal_code: str | None = Field(default=None, alias="postalCode")
    country: str | None = None


class JEmail(_Lenient):
    """``Email``."""

    address: str | None = None
    primary: bool | None = None


class JPhone(_Lenient):
    """``ClientPhoneNumber``."""

    number: str | None = None
    primary: bool | None = None


class JClient(_Lenient):
    """``Client``."""

    id: EncodedId
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    company_name: str | None = Field(default=None, alias="companyName")
    is_company: bool | None = Field(default=None, alias="isCompany")
    emails: list[JEmail] = Field(default_factory=list)
    phones: list[JPhone] = Field(default_factory=list)
    billing_address: JAddress | None = Field(default=None, alias="billingAddress")


class JProperty(_Lenient):
    """``Property``."""

    address: JAddress | None = None


class JName(_Lenient):
    """``Name`` of a user."""

    full: str | None = None


class JUser(_Lenient):
    """``User`` (a technician assigned to a visit)."""

    name: JName | None = None


class JTimeSheetEntry(_Lenient):
    """``TimeSheetEntry``: a running timer means someone is working on the visit now."""

    ticking: bool | None = None
    start_at: datetime | None = Field(default=None, alias="startAt")


class JJob(_Lenient):
    """``Job``."""

    id: EncodedId
    job_number: int | str | None = Field(default=None, alias="jobNumber")
    title: str | None = None
    job_status: str | None = Field(default=None, alias="jobStatus")
    total: Money = None
    start_at: datetime | None = Field(default=None, alias="startAt")
    end_at: datetime | None = Field(default=None, alias="endAt")
    completed_at: datetime | None = Field(default=None, alias="completedAt")
    client: JClient | None = None
    property: JProperty | None = None


class JVisit(_Lenient):
    """``Visit``."""

    id: EncodedId
    title: str | None = None
    visit_status: str | None = Field(default=None, alias="visitStatus")
    is_complete: bool | None = Field(default=None, alias="isComplete")
    is_last_scheduled_visit: bool | None = Field(default=None, alias="isLastScheduledVisit")
    start_at: datetime | None = Field(default=None, alias="startAt")
    end_at: datetime | None = Field(default=None, alias="endAt")
    completed_at: datetime | None = Field(default=None, alias="completedAt")
    assigned_users: Nodes[JUser] | None = Field(default=None, alias="assignedUsers")
    time_sheet_entries: Nodes[JTimeSheetEntry] | None = Field(default=None, alias="timeSheetEntries")
    job: JJob


class JQuoteAmounts(_Lenient):
    """``QuoteAmounts``."""

    total: Money = None


class JQuote(_Lenient):
    """``Quote``."""

    id: EncodedId
    quote_number: str | int | None = Field(default=None, alias="quoteNumber")
    title: str | None = None
    quote_status: str | None = Field(default=None, alias="quoteStatus")
    amounts: JQuoteAmounts | None = None
    client: JClient | None = None


class JInvoiceAmounts(_Lenient):
    """``InvoiceAmounts``."""

    total: Money = None
    invoice_balance: Money = Field(default=None, alias="invoiceBalance")


class JInvoice(_Lenient):
    """``Invoice``."""

    id: EncodedId
    invoice_number: str | int | None = Field(default=None, alias="invoiceNumber")
    invoice_status: str | None = Field(default=None, alias="invoiceStatus")
    amounts: JInvoiceAmounts | None = None
    client: JClient | None = None
    jobs: Nodes[JJob] | None = None


class JPaymentRecord(_Lenient):
    """``PaymentRecord``."""

    id: EncodedId
    amount: Money = None
    client: JClient | None = None
    invoice: JInvoice | None = None


class JRequest(_Lenient):
    """``Request`` (a work request: a new lead)."""

    id: EncodedId
    title: str | None = None
    source: str | None = None
    email: str | None = None
    phone: str | None = None
    client: JClient | None = None
    property: JProperty | None = None
