"""SendGrid Event Webhook payload models.

Vendor-published: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event (event names and
fields; the body is a JSON array of such objects). ``sg_machine_open`` on open events is documented in
https://docs.sendgrid.com/for-developers/tracking-events/understanding-apple-mail-privacy-protection-and-open-events.
Unknown fields (categories, unique arguments) are allowed and ignored.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SgEvent(BaseModel):
    """One event of a batch."""

    model_config = ConfigDict(extra="allow")

    event: str
    timestamp: int  # Unix seconds
    email: str | None = None
    sg_event_id: str | None = None
    sg_message_id: str | None = None
    reason: str | None = None  # bounce / dropped
    status: str | None = None  # SMTP enhanced status of a bounce, e.g. "5.0.0"
    type: str | None = None  # bounce: "bounce" or "blocked"
    response: str | None = None  # delivered / deferred: the receiving server's reply
    url: str | None = None  # click
    asm_group_id: int | None = None  # group_unsubscribe / group_resubscribe
    sg_machine_open: bool | None = None  # open: True when Apple Mail Privacy Protection fetched the pixel
