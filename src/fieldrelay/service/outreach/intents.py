"""One message per intent: what a message to a customer is for, so two rules asking for the same thing send once.

An intent is the customer, a purpose family (what they are told: "appointment", "payment_reminder", "review_request"),
the job or deal it is about, and the channel. The outbox holds the intent key unique, so whichever rule or sequence
queues first sends, and a second request for the same intent queues nothing: its message is cancelled and the
timeline says which message already covered it. It is a property of the outbox, not of each caller: every message
to a customer is queued through ``queue`` here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from fieldrelay.service.context import HandlerContext

_MAX_KEY = 200  # outbox.intent_key


@dataclass(frozen=True)
class Intent:
    """What a message is for: its purpose family and what it is about (``job:<id>``, ``deal:<id>``, ``customer``)."""

    family: str
    subject: str


def intent_key(customer_id: str, intent: Intent, channel: str) -> str:
    """The outbox's intent key: customer, family, subject and channel (hashed when it would not fit)."""
    key = f"{customer_id}:{intent.family}:{intent.subject}:{channel}"
    if len(key) <= _MAX_KEY:
        return key
    return f"{customer_id}:{hashlib.sha256(key.encode()).hexdigest()}"


def intent_prefix(customer_id: str, family: str, subject_prefix: str) -> str:
    """The start every intent key of the customer's ``family`` about ``subject_prefix…`` shares."""
    return f"{customer_id}:{family}:{subject_prefix}"


def queue(
    ctx: HandlerContext,
    *,
    message_id: str,
    customer_id: str,
    channel: str,
    intent: Intent,
    payload: Mapping[str, object],
    label: str,
) -> bool:
    """Queue the message on the outbox unless its intent is already queued; False (and a timeline note) when it is.

    The same request again (a timer fired twice) is not a second intent: it queues nothing and notes nothing.
    """
    store = ctx.store
    key = intent_key(customer_id, intent, channel)
    idempotency_key = f"{channel}:{message_id}"
    if store.enqueue(
        idempotency_key=idempotency_key,
        target=channel,
        kind=channel,
        ordering_key=f"customer:{customer_id}",
        customer_id=customer_id,
        message_id=message_id,
        payload=payload,
        intent_key=key,
    ):
        return True
    holder = store.intent_holder(key)
    if holder is None or holder.idempotency_key == idempotency_key:
        return True  # this very message was queued before
    store.update_message(message_id, {"status": "cancelled"})
    covered = (holder.purpose or "an earlier message").replace("_", " ").replace(".", " ")
    store.add_activity(
        customer_id, ctx.now, "message.cancelled", f"{label} not sent: already sent as {covered}", "fieldrelay", True
    )
    return False
