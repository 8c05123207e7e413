"""Messaging handlers: replies, opt-outs and opt-ins, HELP, delivery receipts, opens and clicks."""

from __future__ import annotations

from datetime import timedelta

import structlog

from fieldrelay.domain import events as ev
from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.service import changes
from fieldrelay.service.context import HandlerContext, Unattachable
from fieldrelay.service.ports import TemporaryFailure

log = structlog.get_logger("fieldrelay.messaging")

# A receipt can overtake the worker's own record of the send (the provider calls back before our commit):
# such a receipt is retried for this long before it is taken to be about a message fieldrelay did not send.
RECEIPT_GRACE = timedelta(minutes=10)

# Statuses after which a provider says nothing more about delivery; they beat queued / sent whatever the order.
_FINAL = {"delivered", "undelivered", "failed", "bounced", "dropped"}
_FAILED = {"undelivered", "failed", "bounced", "dropped"}
_CHANNEL_NAME = {ev.SMS: "texts", ev.EMAIL: "email"}


def address_of(ctx: HandlerContext, channel: str, raw: str) -> str | None:
    """The normalised address (E.164 phone or lower-case email) messages on ``channel`` go to."""
    if channel == ev.SMS:
        return normalize_phone(raw, ctx.settings.default_phone_region)
    return normalize_email(raw)


def customers_at(ctx: HandlerContext, channel: str, address: str) -> list[str]:
    """Ids of customers holding this address."""
    if channel == ev.SMS:
        return ctx.store.customers_by_phone(address)
    return ctx.store.customers_by_email(address)


def on_reply(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """A customer wrote back: put it on their timeline (a person needs to see a text nobody can place)."""
    assert isinstance(event, ev.ReplyReceived)
    address = address_of(ctx, event.channel, event.from_address)
    found = customers_at(ctx, event.channel, address) if address else []
    if address is None or not found:
        raise Unattachable(f"a reply from {event.from_address or 'an unknown sender'} matches no customer")
    for customer_id in found:
        _confirm(ctx, customer_id, event.channel, address, event)
        ctx.store.add_activity(
            customer_id, event.occurred_at, "message.replied", f"Replied: {event.body[:500]}", event.source, True
        )
        ctx.publish(changes.Replied(customer_id, event.occurred_at, channel=event.channel, body=event.body))


def _confirm(ctx: HandlerContext, customer_id: str, channel: str, address: str, event: ev.ReplyReceived) -> None:
    """A reply from an address confirms it is the customer's: it becomes their primary one (the CRMs follow)."""
    held = ctx.store.phones_of if channel == ev.SMS else ctx.store.emails_of
    before = held(customer_id)[:1]
    phones, emails = ([address], []) if channel == ev.SMS else ([], [address])
    ctx.store.add_contact_points(customer_id, phones, emails, event.occurred_at, True)
    if held(customer_id)[:1] != before:
        what = "phone" if channel == ev.SMS else "email"
        summary = f"The customer replied from another {what}: it is their primary {what} now"
        ctx.store.add_activity(customer_id, event.occurred_at, "customer.primary", summary, event.source, True)
        ctx.publish(changes.ContactChanged(customer_id, event.occurred_at, event="customer.primary", summary=summary))


def on_consent(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """STOP / START and their email equivalents: recorded per address, so it holds before any customer exists."""
    assert isinstance(event, ev.OptedOut | ev.OptedIn)
    opted_out = isinstance(event, ev.OptedOut)
    address = address_of(ctx, event.channel, event.address)
    if address is None:
        raise Unattachable(f"consent change for an unreadable {event.channel} address {event.address!r}")
    applied = ctx.store.set_consent(event.channel, address, opted_out, event.reason, event.source, event.occurred_at)
    what = "Opted out of" if opted_out else "Opted back in to"
    summary = f"{what} {_CHANNEL_NAME.get(event.channel, event.channel)} ({event.reason or event.channel})"
    if not applied:
        summary += " — not applied: a later consent change is already recorded"
    for customer_id in customers_at(ctx, event.channel, address):
        if applied and event.channel == ev.SMS:
            ctx.store.update_customer(customer_id, {"sms_opted_out": opted_out})
        kind = "consent.opted_out" if opted_out else "consent.opted_in"
        ctx.store.add_activity(customer_id, event.occurred_at, kind, summary, event.source, applied)
        if applied and opted_out:
            ctx.publish(changes.OptedOut(customer_id, event.occurred_at))
        if applied:
            ctx.publish(changes.ContactChanged(customer_id, event.occurred_at, event=kind, summary=summary))


def on_help(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """HELP: the provider answers automatically; the office sees that the customer asked."""
    assert isinstance(event, ev.HelpRequested)
    address = address_of(ctx, event.channel, event.address)
    for customer_id in customers_at(ctx, event.channel, address) if address else []:
        ctx.store.add_activity(customer_id, event.occurred_at, "message.help", "Texted HELP", event.source, True)


def on_status(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """A delivery receipt: move the message forward, never back; failures go on the customer's timeline."""
    assert isinstance(event, ev.MessageStatusChanged)
    message = ctx.store.message_by_provider_id(event.channel, event.provider_message_id)
    if message is None:
        _unknown_message(ctx, event, event.provider_message_id)
        return
    if _rank(message.status) > _rank(event.status):
        # A late "sent" after "delivered", or "queued" after "sent": routine reordering, not worth the timeline.
        log.info("message.late_receipt", message_id=message.id, status=event.status, current=message.status)
        return
    if _rank(message.status) == _rank(event.status) and message.status_at and message.status_at > event.occurred_at:
        if event.status in _FINAL and event.status != message.status:
            # Two final reports that disagree (delivered vs bounced): the office should see the older one too.
            ctx.store.add_activity(
                message.customer_id,
                event.occurred_at,
                f"message.{event.status}",
                f"{_medium(event.channel)} {event.status} — not applied: a later report ({message.status}) is "
                "already recorded",
                event.source,
                False,
            )
        return
    ctx.store.update_message(
        message.id, {"status": event.status, "status_at": event.occurred_at, "error_code": event.error_code}
    )
    if event.status in _FAILED:
        code = f" (error {event.error_code})" if event.error_code else ""
        detail = f": {event.detail}" if event.detail else ""
        summary = f"{_medium(event.channel)} {event.status}{code}{detail}"
        ctx.store.add_activity(
            message.customer_id, event.occurred_at, f"message.{event.status}", summary, event.source, True
        )


def _medium(channel: str) -> str:
    return "SMS" if channel == ev.SMS else "Email"


def _rank(status: str) -> int:
    # Our own states before any receipt (scheduled, sending …) rank lowest; a final status outranks any other.
    if status in _FINAL:
        return 3
    return {"queued": 1, "sent": 2}.get(status, 0)


def on_engaged(ctx: HandlerContext, event: ev.FieldEvent) -> None:
    """An open or a click: on the timeline, where sequences can branch on it."""
    assert isinstance(event, ev.MessageEngaged)
    message = ctx.store.message_by_provider_id(event.channel, event.provider_message_id)
    if message is None:
        _unknown_message(ctx, event, event.provider_message_id)
        return
    summary = f"Opened {message.purpose.replace('_', ' ')}" if event.action == "opened" else "Clicked a link"
    if event.action == "clicked" and event.url:
        summary += f": {event.url[:300]}"
    ctx.store.add_activity(
        message.customer_id, event.occurred_at, f"message.{event.action}", summary, event.source, True
    )
    ctx.store.note_engagement(message.id, event.action, event.occurred_at)  # remembered on the message, for branches
    ctx.publish(
        changes.Engaged(
            message.customer_id,
            event.occurred_at,
            message_id=message.id,
            purpose=message.purpose,
            action=event.action,
        )
    )


def _unknown_message(ctx: HandlerContext, event: ev.FieldEvent, provider_message_id: str) -> None:
    if ctx.now - event.occurred_at < RECEIPT_GRACE:
        raise TemporaryFailure(f"no message with provider id {provider_message_id} yet", retry_after_seconds=30)
    # Not one of ours (sent from the provider's console, or by another system on the same account).
    log.info("message.receipt_for_unknown_message", provider_message_id=provider_message_id)
