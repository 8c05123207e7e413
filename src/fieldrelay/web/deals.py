"""Acting on a deal from a page (the pipeline board, the daily review): one SOP action and its audit entry, with the
deal's stage and owner before and after, in one unit of work; the board's reads of deals and the team."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from fieldrelay.domain.contact import display_name
from fieldrelay.service.access import audit
from fieldrelay.service.access.permissions import Action
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.handoff import stages
from fieldrelay.service.handoff.first_response import HandoffRefused
from fieldrelay.service.handoff.review import ReviewItem
from fieldrelay.web.guard import Person
from fieldrelay.web.state import runtime_of


@dataclass(frozen=True)
class Done:
    """What an action left: the customer's name for the message, or the SOP's refusal in words."""

    customer: str = ""
    error: str = ""


def _state(ctx: HandlerContext, deal_id: str) -> dict[str, Any]:
    deal = ctx.store.handoff_deal(deal_id)
    if deal is None:
        raise LookupError("This deal no longer exists. Reload the page.")
    return {"stage": deal.stage, "owner": deal.owner, "customer_id": deal.customer_id}


def act(
    request: Request,
    person: Person,
    action: Action,
    deal_id: str,
    said: dict[str, Any],
    run: Callable[[HandlerContext], object],
) -> Done:
    """Run ``run`` and the audit entry (before, after and what the person said) in one unit of work."""
    runtime = runtime_of(request)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            before = _state(ctx, deal_id)
            run(ctx)
            after = {**_state(ctx, deal_id), **said}
            audit.record(ctx, person.actor, action, "deal", deal_id, _shown(before), _shown(after))
            name = _customer_name(ctx, before["customer_id"])
    except (LookupError, HandoffRefused) as exc:
        return Done(error=sentence(str(exc)))
    return Done(customer=name)


def _shown(state: dict[str, Any]) -> dict[str, Any]:
    """The deal's state as the audit log keeps it (the customer is the deal's, not a change)."""
    return {key: value for key, value in state.items() if key != "customer_id"}


def _customer_name(ctx: HandlerContext, customer_id: object) -> str:
    """The customer's name for the page's message."""
    record = ctx.store.get_customer(str(customer_id))
    return display_name(record.first_name, record.last_name) or "the customer"


def sentence(text: str) -> str:
    """The SOP says "cannot qualify without: ZIP code"; a page says "Cannot qualify without: ZIP code."."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else "That did not work."


def assign(request: Request, person: Person, deal_id: str, to: str) -> Done:
    """Hand the deal and its open tasks to ``to`` (the pipeline board and the daily review both offer it)."""
    to = to.strip()
    by = person.user.name
    return act(request, person, Action.REASSIGN, deal_id, {}, lambda c: stages.assign(c, deal_id, to, by))


def read(request: Request, reader: Callable[[HandlerContext], list[ReviewItem]]) -> list[ReviewItem]:
    """Deals as a service read returns them (review.today, review.open_deals), at the clock's time."""
    runtime = runtime_of(request)
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        return reader(ctx)


def team(request: Request) -> list[str]:
    """The names of the active team members, whom a deal may be assigned to."""
    runtime = runtime_of(request)
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        return [member.name for member in ctx.store.team_members() if member.active]
