"""ServiceTitan webhook payload models.

The entity models follow the key lists observed on live JPM v2 job and sales v2 estimate objects
(../shared/payloads/servicetitan/*.keys-observed.json, third-party probe; values are not published) and the
public JPM v2 appointment shape (``id, jobId, appointmentNumber, start, end, status, customerId, modifiedOn``).
The envelope around them is not public: ``StEnvelope`` accepts the spellings listed in inbound.py's docstring.
Unknown fields are allowed. Ids are 64-bit integers in ServiceTitan and kept as strings here; money is in
dollars (floats) and turned into cents by the connector.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field


def _id_to_str(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("an id cannot be a boolean")
    if isinstance(value, int):
        return str(value)
    return value


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("an amount cannot be a boolean")
    return value


def _finite_money(value: float | None) -> float | None:
    if value is not None and (not math.isfinite(value) or abs(value) > 1e9):
        raise ValueError("amount is not a finite number below a billion")
    return value


def _status_name(value: Any) -> Any:
    # Sales v2 gives statuses as {"value": 1, "name": "Open"}; JPM gives plain strings.
    if isinstance(value, dict):
        return value.get("name")
    return value


StId = Annotated[str, BeforeValidator(_id_to_str), Field(min_length=1, max_length=100)]
Money = Annotated[float | None, BeforeValidator(_not_bool), AfterValidator(_finite_money)]
StatusName = Annotated[str | None, BeforeValidator(_status_name)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class StAddress(_Lenient):
    """A customer or location address (CRM v2 shape)."""

    street: str | None = None
    unit: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


class StContact(_Lenient):
    """One customer contact method (CRM v2 ``contacts``): ``type`` Phone, MobilePhone, Email, Fax …"""

    type: str | None = None
    value: str | None = None


class StCustomer(_Lenient):
    """A customer, when a delivery embeds one (ServiceTitan entities normally carry only ``customerId``)."""

    id: StId
    name: str | None = None
    contacts: list[StContact] = Field(default_factory=list)
    address: StAddress | None = None
    modified_on: datetime | None = Field(default=None, validation_alias="modifiedOn")


class StLocation(_Lenient):
    """A service location, when embedded."""

    id: StId | None = None
    address: StAddress | None = None


class StJob(_Lenient):
    """A JPM v2 job."""

    id: StId
    job_number: str | None = Field(default=None, validation_alias="jobNumber")
    customer_id: StId | None = Field(default=None, validation_alias="customerId")
    job_status: str | None = Field(default=None, validation_alias="jobStatus")
    summary: str | None = None
    total: Money = None
    completed_on: datetime | None = Field(default=None, validation_alias="completedOn")
    modified_on: datetime | None = Field(default=None, validation_alias="modifiedOn")
    customer: StCustomer | None = None
    location: StLocation | None = None


class StAppointment(_Lenient):
    """A JPM v2 appointment (one visit of a job)."""

    id: StId
    job_id: StId = Field(validation_alias="jobId")
    appointment_number: str | None = Field(default=None, validation_alias="appointmentNumber")
    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None
    customer_id: StId | None = Field(default=None, validation_alias="customerId")
    modified_on: datetime | None = Field(default=None, validation_alias="modifiedOn")
    customer: StCustomer | None = None
    location: StLocation | None = None


class StEstimate(_Lenient):
    """A sales v2 estimate (one option offered on a job)."""

    id: StId
    job_id: StId | None = Field(default=None, validation_alias="jobId")
    job_number: str | None = Field(default=None, validation_alias="jobNumber")
    name: str | None = None
    status: StatusName = None
    sold_on: datetime | None = Field(default=None, validation_alias="soldOn")
    subtotal: Money = None
    tax: Money = None
    customer_id: StId | None = Field(default=None, validation_alias="customerId")
    modified_on: datetime | None = Field(default=None, validation_alias="modifiedOn")
    customer: StCustomer | None = None


class StEnvelope(_Lenient):
    """The delivery: event name, time and the entity, under any of the accepted spellings (ids: see identify)."""

    event_type: str = Field(min_length=1, validation_alias=AliasChoices("eventType", "event"))
    timestamp: datetime | None = Field(
        default=None, validation_alias=AliasChoices("timestamp", "createdOn", "occurredOn", "eventTime")
    )
    entity: dict[str, Any] = Field(validation_alias=AliasChoices("data", "entity", "payload"))
