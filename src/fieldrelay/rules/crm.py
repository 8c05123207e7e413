"""Outside CRMs that receive the mapped changes (fieldrelay.yaml ``crm``): which ones, where, and how hard to push.

Tokens and signing secrets come from the environment (``FIELDRELAY_HUBSPOT_TOKEN``, ``FIELDRELAY_SALESFORCE_…``,
``FIELDRELAY_WEBHOOK_OUT_SECRET``), never from this file.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CrmTargetName = Literal["hubspot", "salesforce", "webhook"]
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HubSpotSettings(_Strict):
    """HubSpot (private-app token): contacts, deal stages, notes."""

    base_url: str = "https://api.hubapi.com"
    # The deals pipeline, by id or label; its stages are read from the pipelines API (stage ids are per portal).
    pipeline: str = "default"
    # fieldrelay stage id → HubSpot stage label, where the labels differ (default: the stage's name in `pipeline`).
    stages: dict[str, str] = Field(default_factory=dict)
    # fieldrelay CRM field → HubSpot contact property, where the connector's default name is not wanted.
    properties: dict[str, str] = Field(default_factory=dict)
    request_timeout_seconds: float = Field(default=10.0, gt=0)


class SalesforceSettings(_Strict):
    """Salesforce: Contact upserted by an external-id field, a Task per note, in composite requests."""

    instance_url: str | None = None  # https://yourorg.my.salesforce.com
    api_version: str = Field(default="v62.0", pattern=r"^v\d+\.\d$")
    # The Contact's external-id field holding fieldrelay's customer id (create it in Setup, marked External ID).
    external_id_field: str = "FieldRelay_Id__c"
    # fieldrelay CRM field → Contact field, where the connector's default name is not wanted.
    fields: dict[str, str] = Field(default_factory=dict)
    request_timeout_seconds: float = Field(default=10.0, gt=0)


class WebhookOutSettings(_Strict):
    """A signed JSON POST of each mapped change to any other tool (scheme in docs/crm.md)."""

    # Where the signed changes are POSTed (key: FIELDRELAY_WEBHOOK_OUT_SECRET).
    url: str | None = None
    request_timeout_seconds: float = Field(default=10.0, gt=0)


class BreakerSettings(_Strict):
    """Per-target circuit breaker: open after ``failures`` outage failures in a row, probe after a cool-down."""

    # Outage failures in a row (5xx, timeouts, 429) that open a target's circuit; rows wait while it is open without
    # spending tries.
    failures: int = Field(default=5, ge=1, le=1000)
    # The first pause before a probe; a failed probe doubles it up to max_cool_down_seconds.
    cool_down_seconds: float = Field(default=30.0, gt=0)
    # Each failed probe doubles the cool-down, up to this.
    max_cool_down_seconds: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> BreakerSettings:
        if self.max_cool_down_seconds < self.cool_down_seconds:
            raise ValueError("max_cool_down_seconds must be at least cool_down_seconds")
        return self


class DigestSettings(_Strict):
    """The daily email to the operations owner listing what is open in the error queue."""

    to: str | None = None  # no address: no digest
    at: str = "07:00"  # shop time

    @field_validator("at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"digest time {value!r} must look like 07:00")
        return value

    def local_time(self) -> time:
        """The time of day the digest goes out."""
        hours, minutes = self.at.split(":")
        return time(int(hours), int(minutes))


class Crm(_Strict):
    """Outside CRMs written from the outbox, in order, once; the built-in CRM is always written."""

    # Outside CRMs written besides the built-in one; each needs its secret, or serve and worker refuse to start.
    targets: list[CrmTargetName] = Field(default_factory=list)
    # A record merged into another at an outside CRM: "mark" it (merged_into property, or field at Salesforce) or
    # "delete" it. An undone merge writes it back either way.
    on_merge: Literal["mark", "delete"] = "mark"
    hubspot: HubSpotSettings = HubSpotSettings()
    salesforce: SalesforceSettings = SalesforceSettings()
    webhook: WebhookOutSettings = WebhookOutSettings()
    breaker: BreakerSettings = BreakerSettings()
    digest: DigestSettings = DigestSettings()

    @model_validator(mode="after")
    def _targets_configured(self) -> Crm:
        if len(set(self.targets)) != len(self.targets):
            raise ValueError("a CRM target is listed twice")
        if "salesforce" in self.targets and not self.salesforce.instance_url:
            raise ValueError("salesforce is a target but salesforce.instance_url is not set")
        if "webhook" in self.targets and not self.webhook.url:
            raise ValueError("webhook is a target but webhook.url is not set")
        return self
