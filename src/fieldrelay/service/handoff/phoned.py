"""A lead phoned in to the office: the same ``LeadReceived`` a web form makes, applied through the bus, so identity
matching, enrichment and the SOP's first-response clock run for it exactly as for any other lead."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from fieldrelay.domain import events as ev
from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.service import bus
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff.first_response import HandoffRefused

SOURCE = "office"  # the connector name its customer ids are linked under
CHANNEL = "phone"  # where the lead came from, as the timeline and the lead source say


@dataclass(frozen=True)
class PhonedLead:
    """What the person on the phone took down; a phone or an email is required, the rest is optional."""

    name: str = ""
    phone: str = ""
    email: str = ""
    street: str = ""
    zip_code: str = ""
    service: str = ""
    notes: str = ""


@dataclass(frozen=True)
class TakenLead:
    """Where the lead landed: the customer (a known one when matched) and their open deal."""

    customer_id: str
    deal_id: str | None
    deal_stage: str | None


def _contact(ctx: HandlerContext, lead: PhonedLead) -> None:
    """Refuse a lead nobody could call back or write to, saying which value is unusable."""
    phone, email = lead.phone.strip(), lead.email.strip()
    if phone and normalize_phone(phone, ctx.settings.default_phone_region) is None:
        raise HandoffRefused(f"the phone number {phone!r} is not a valid number")
    if email and normalize_email(email) is None:
        raise HandoffRefused(f"the email {email!r} is not an address")
    if not phone and not email:
        raise HandoffRefused("a lead needs a phone number or an email, so someone can get back to them")


def event_of(lead: PhonedLead, at: datetime, ref: str) -> ev.LeadReceived:
    """The canonical event of a phoned-in lead (``ref`` is its id: a new one per lead taken)."""
    first, _, last = lead.name.strip().partition(" ")
    zip_code, street = lead.zip_code.strip(), lead.street.strip()
    address = ev.Address(street=street or None, postal_code=zip_code or None)
    customer = ev.CustomerSnapshot(
        external_id=ref,
        first_name=first or None,
        last_name=last.strip() or None,
        phones=(lead.phone.strip(),) if lead.phone.strip() else (),
        emails=(lead.email.strip(),) if lead.email.strip() else (),
        address=None if address.is_empty() else address,
        # No lead source: a call says how they reached the shop, not where they heard of it ("phone" would be
        # "other" in the CRM), and a known caller's first source stays theirs.
    )
    return ev.LeadReceived(
        source=SOURCE,
        occurred_at=at,
        customer=customer,
        lead_ref=ref,
        service=lead.service.strip() or None,
        notes=lead.notes.strip() or None,
        channel=CHANNEL,
    )


def take(ctx: HandlerContext, lead: PhonedLead) -> TakenLead:
    """Apply the phoned-in lead now, in the caller's unit of work; where it landed."""
    _contact(ctx, lead)
    ref = f"phone:{uuid.uuid4()}"
    bus.apply(ctx, event_of(lead, ctx.now, ref))
    # Matched to someone known (or merged into them), the id now points at that customer.
    record = ctx.store.customer_by_external(SOURCE, ref)
    if record is None:
        raise LookupError(f"the lead {ref} landed on no customer")
    deal = ctx.store.open_deal(record.id)
    return TakenLead(record.id, deal.id if deal else None, deal.stage if deal else None)
