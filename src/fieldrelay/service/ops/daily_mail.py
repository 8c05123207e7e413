"""A daily email to someone at the shop (the error digest, the open-loop review): its timer and its outbox row.

Each kind is one timer per shop-local day (keyed by the date, so any number of worker starts plan it once) that
schedules the next day's when it fires, and one transactional email per day (keyed by kind and date).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fieldrelay.service.context import HandlerContext


def next_run(ctx: HandlerContext, after: datetime, at: time) -> datetime:
    """The first ``at`` (shop time) strictly after ``after``."""
    zone = ZoneInfo(ctx.settings.business.time_zone)
    local = after.astimezone(zone)
    moment = datetime.combine(local.date(), at, tzinfo=zone)
    while moment <= local:
        # Adding a day to the date (not 24 hours to the moment) keeps 07:00 at 07:00 across a DST change.
        moment = datetime.combine(moment.date() + timedelta(days=1), moment.timetz())
    return moment.astimezone(after.tzinfo)


def schedule(ctx: HandlerContext, kind: str, after: datetime, at: time) -> bool:
    """Plan the next ``kind`` timer at ``at`` shop time; False when that day's is already planned."""
    due = next_run(ctx, after, at)
    return ctx.store.schedule_timer(f"{kind}:{due.date().isoformat()}", kind, due, None, {})


def queue(ctx: HandlerContext, kind: str, to: str, subject: str, body: str) -> None:
    """Queue today's ``kind`` email (once per shop-local day) to ``to``."""
    day = ctx.now.astimezone(ZoneInfo(ctx.settings.business.time_zone)).date().isoformat()
    ctx.store.enqueue(
        idempotency_key=f"email:{kind}:{day}",
        target="email",
        kind="email",
        ordering_key=kind,
        customer_id=None,
        message_id=None,
        payload={"to": to, "subject": subject, "body": body, "category": "transactional"},
    )
