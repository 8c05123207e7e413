"""Whether a message may go to an address now: the address's own opt-out, the customer's, and marketing rules.

- A STOP (or an email opt-out) holds for its address on its channel, whatever the message: the carrier and the
  provider enforce it too (Twilio error 21610).
- Marketing (offers, review asks, nudges) stops on every channel once any of the customer's addresses opted out,
  unless ``messaging.opt_out_stops_all_marketing`` is false; transactional messages (confirmations, ETAs, payment
  reminders) follow only the channel's own opt-out.
"""

from __future__ import annotations

from fieldrelay.rules.config import Settings
from fieldrelay.service.ports import MirrorStore

_MEDIUM = {"sms": "texts", "email": "email"}


def withheld_reason(
    store: MirrorStore, settings: Settings, *, customer_id: str | None, channel: str, category: str, address: str
) -> str | None:
    """Why a ``category`` message on ``channel`` to ``address`` must not go out now, or None when it may."""
    medium = _MEDIUM.get(channel, channel)
    if address and store.is_opted_out(channel, address):
        return f"the customer opted out of {medium}" if customer_id else f"{address} opted out of {medium}"
    if customer_id is None:
        return None
    if channel == "sms" and store.get_customer(customer_id).sms_opted_out:
        return "the customer opted out of texts"
    opted_out = store.opted_out_addresses(customer_id)
    if channel == "sms" and any(ch == "sms" for ch, _, _ in opted_out):
        return "the customer opted out of texts"
    if category == "marketing" and opted_out:
        same_channel = any(ch == channel for ch, _, _ in opted_out)
        if settings.messaging.opt_out_stops_all_marketing or same_channel:
            ch, where, reason = opted_out[0]
            return f"{where} opted out of {_MEDIUM.get(ch, ch)} ({reason or 'opt-out'}): no marketing on any channel"
    return None
