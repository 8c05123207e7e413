"""Postmark webhook payload models.

Vendor-published: https://postmarkapp.com/developer/webhooks/webhooks-overview and the per-trigger pages
(delivery, bounce, spam complaint, open, click, subscription change); fixtures come from Postmark's own
ActiveCampaign/postmark-skills examples. Every body has a ``RecordType`` naming its trigger. Times are ISO 8601
with an offset (Postmark sends seven fractional digits; the seventh is dropped when parsed). Unknown fields are
allowed: Postmark adds fields without notice.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class PmRecord(_Lenient):
    """Fields shared by every trigger."""

    RecordType: str
    MessageID: str | None = None
    MessageStream: str | None = None


class PmDelivery(PmRecord):
    """RecordType "Delivery": the receiving server accepted the message."""

    MessageID: str
    Recipient: str | None = None
    DeliveredAt: datetime
    Details: str | None = None


class PmBounce(PmRecord):
    """RecordType "Bounce" (and "SpamComplaint", which has the same shape)."""

    MessageID: str
    ID: int | None = None
    Type: str | None = None  # HardBounce, SoftBounce, Transient, AutoResponder, … (Postmark's bounce types)
    TypeCode: int | None = None
    Email: str | None = None
    BouncedAt: datetime
    Description: str | None = None
    Details: str | None = None
    Inactive: bool | None = None


class PmOpen(PmRecord):
    """RecordType "Open"; repeated opens of one message come with ``FirstOpen`` false."""

    MessageID: str
    Recipient: str | None = None
    ReceivedAt: datetime
    FirstOpen: bool | None = None


class PmClick(PmRecord):
    """RecordType "Click"."""

    MessageID: str
    Recipient: str | None = None
    ReceivedAt: datetime
    OriginalLink: str | None = None


class PmSubscriptionChange(PmRecord):
    """RecordType "SubscriptionChange": sending to ``Recipient`` was suppressed or reactivated."""

    Recipient: str | None = None
    ChangedAt: datetime
    SuppressSending: bool
    SuppressionReason: str | None = None
    Origin: str | None = None
