"""Lead handoff, stage 1: every new lead gets an owner, a first-response task on the SOP's clock and, after hours, an
automatic text saying when the shop will call. Also the pieces the other stages share: the team, handoff tasks and
the deal's "next action", which is always its soonest open task.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fieldrelay.domain.handoff_time import ShopHours, first_response_due, in_words
from fieldrelay.rules.config import DAYS, Settings
from fieldrelay.service.changes import LeadArrived
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff.ports import HandoffDeal
from fieldrelay.service.outreach import texts
from fieldrelay.service.outreach.intents import Intent
from fieldrelay.service.team import Owner, owner_for

ACK = "sop.ack"  # the timer kind of the after-hours acknowledgement text
ESCALATE = "sop.escalate"  # the timer kind that checks one task for escalation when it is overdue
FIRST_RESPONSE = "sop.first_response"  # task kinds
ACK_PURPOSE = "lead_ack"


class HandoffRefused(Exception):
    """A person's handoff action that the SOP does not allow, with the reason in words."""


def shop_hours(settings: Settings) -> ShopHours:
    """The shop's zone, weekly hours and holidays, for the handoff clocks."""
    business = settings.business
    hours = {DAYS.index(day): (w.opens, w.closes) for day, w in business.opening_hours().items()}
    return ShopHours(ZoneInfo(business.time_zone), hours, frozenset(business.holidays))


def stage_owner(settings: Settings, stage: str, fallback: str = "operations") -> Owner:
    """The configured owner of ``stage`` (operations when the SOP names none), resolved to a person by the team."""
    owner = settings.sop.owner_of(stage)
    if owner is None:
        return owner_for(settings, fallback)
    return owner_for(settings, owner.role, owner.person)


def sync_team(ctx: HandlerContext) -> int:
    """Write the configured team into the team table (create or update each); how many were new."""
    created = 0
    for member in ctx.settings.team:
        created += ctx.store.upsert_team_member(member.model_dump())
    return created


def add_member(
    ctx: HandlerContext, name: str, role: str, reports_to: str | None = None, email: str | None = None
) -> bool:
    """Add (or update) one team member; refused when their lead is not on the team. True when new."""
    if reports_to is not None and ctx.store.team_member(reports_to) is None:
        raise HandoffRefused(f"{reports_to!r} is not on the team: add them first")
    values: dict[str, object] = {"name": name, "role": role, "reports_to": reports_to}
    if email is not None:
        values["email"] = email
    return ctx.store.upsert_team_member(values)


def require_deal(ctx: HandlerContext, deal_id: str) -> HandoffDeal:
    """The deal, or LookupError naming it."""
    deal = ctx.store.handoff_deal(deal_id)
    if deal is None:
        raise LookupError(f"deal {deal_id} not found")
    return deal


def open_task(
    ctx: HandlerContext,
    deal: HandoffDeal,
    *,
    kind: str,
    title: str,
    owner: Owner,
    due: datetime,
    source: str,
) -> bool:
    """A handoff task on the deal, its escalation check, and the deal's next action; False when it already exists."""
    task_id = str(uuid.uuid4())
    created = ctx.store.insert_task(
        {
            "id": task_id,
            "customer_id": deal.customer_id,
            "deal_id": deal.id,
            "kind": kind,
            "title": title,
            "role": owner.role,
            "assignee": owner.person,
            "due_at": due,
            "source": source,
        }
    )
    if not created:
        return False
    late = due + timedelta(minutes=ctx.settings.sop.escalate_after_minutes)
    ctx.store.schedule_timer(f"{ESCALATE}:{task_id}", ESCALATE, late, deal.customer_id, {"task_id": task_id})
    # Not on the timeline: the deal's next action and the task list show it, and a lead's timeline stays what
    # happened with the customer.
    refresh_next_action(ctx, deal.id)
    return True


def close_tasks(ctx: HandlerContext, deal_id: str, kind_prefix: str, *, first_only: bool = False) -> int:
    """Mark the deal's open tasks of this kind done (only the soonest due with ``first_only``); how many."""
    found = ctx.store.open_deal_tasks(deal_id, kind_prefix)
    for task in found[:1] if first_only else found:
        ctx.store.update_task(task.id, {"status": "done", "closed_at": ctx.now})
    if found:
        refresh_next_action(ctx, deal_id)
    return min(len(found), 1) if first_only else len(found)


def refresh_next_action(ctx: HandlerContext, deal_id: str) -> None:
    """The deal's next action is its soonest open handoff task (none when nothing is open)."""
    soonest = next(iter(ctx.store.open_deal_tasks(deal_id, "sop.")), None)
    values: dict[str, object] = {"next_action": None, "next_action_due_at": None}
    if soonest is not None:
        values = {"next_action": soonest.title, "next_action_due_at": soonest.due_at}
    ctx.store.update_deal(deal_id, values)


def record_response(ctx: HandlerContext, deal: HandoffDeal, at: datetime) -> None:
    """The first logged response to the lead (call, text, qualification) stops its first-response clock."""
    if deal.first_response_at is None:
        ctx.store.update_deal(deal.id, {"first_response_at": at})
    close_tasks(ctx, deal.id, FIRST_RESPONSE)


def on_lead(ctx: HandlerContext, change: LeadArrived) -> None:
    """Stage 1 intake: owner, first-response task (and after hours the acknowledgement text) for a new lead's deal.

    Only a deal the lead opened (or that still stands at the lead stage) and only once: a second enquiry while the
    first is being answered changes nothing.
    """
    store, customer_id, lead_at = ctx.store, change.customer_id, change.occurred_at
    found = store.open_deal(customer_id)
    lead_stage = ctx.settings.pipeline.moves.get("lead.received")
    if found is None or found.stage != lead_stage:
        return
    deal = require_deal(ctx, found.id)
    if deal.lead_at is not None:
        return
    sop, shop = ctx.settings.sop, shop_hours(ctx.settings)
    owner = stage_owner(ctx.settings, deal.stage, fallback="office")
    store.update_deal(deal.id, {"owner": owner.label, "lead_at": lead_at})
    # A lead delivered late still gets a clock that has not already run out when it arrives.
    due = max(first_response_due(lead_at, shop, sop.first_response_minutes), ctx.now)
    open_task(
        ctx,
        deal,
        kind=FIRST_RESPONSE,
        title="First response: call the customer back",
        owner=owner,
        due=due,
        source=f"sop:first_response:{deal.id}",
    )
    if not shop.is_open(lead_at):
        _plan_ack(ctx, deal, lead_at, due)


def _plan_ack(ctx: HandlerContext, deal: HandoffDeal, lead_at: datetime, opening: datetime) -> None:
    """The after-hours acknowledgement: a scheduled text, checked for consent and a phone when due.

    It waits for the customer's text hours like every other text (so a lead at 3 a.m. hears from us at the start of
    the text window, not at 3:02).
    """
    store = ctx.store
    key = f"{ACK}:{deal.id}"
    due = texts.within_text_hours(
        ctx, deal.customer_id, max(lead_at + timedelta(minutes=ctx.settings.sop.after_hours_ack_minutes), ctx.now)
    )
    message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fieldrelay:{ctx.settings.account_id}:{key}"))
    payload = {"message_id": message_id, "opening": opening.isoformat(), "deal_id": deal.id}
    if not store.schedule_timer(key, ACK, due, deal.customer_id, payload):
        return
    phones = store.phones_of(deal.customer_id)
    store.insert_message(
        {
            "id": message_id,
            "customer_id": deal.customer_id,
            "job_id": None,
            "channel": "sms",
            "purpose": ACK_PURPOSE,
            "category": "transactional",
            "to_address": phones[0] if phones else "",
            "body": "",
            "status": "scheduled",
            "scheduled_for": due,
            "trigger_at": lead_at,
        }
    )


def fire_ack(ctx: HandlerContext, payload: Mapping[str, object]) -> None:
    """Send the acknowledgement naming the next opening in words (shop time), unless consent or no phone stops it."""
    message = ctx.store.get_message(str(payload["message_id"]))
    if message is None or message.status != "scheduled":
        return
    opening = datetime.fromisoformat(str(payload["opening"]))
    words = in_words(opening, ctx.now, ZoneInfo(ctx.settings.business.time_zone))
    # Timers planned before the deal id was in the payload acknowledge per message, which is once per deal too.
    subject = f"deal:{payload['deal_id']}" if "deal_id" in payload else f"message:{message.id}"
    texts.send_or_cancel(
        ctx,
        message,
        None,
        "After-hours acknowledgement",
        ctx.settings.sop.ack_template,
        Intent(ACK_PURPOSE, subject),
        opening=words,
    )
