"""The daily email to the operations owner listing what is open: the error queue and deliveries still waiting.

A timer fires it at ``crm.digest.at`` shop time and schedules the next day's; the email goes through the outbox like
any other, so a mail outage delays it rather than losing it. A day with nothing open and nothing waiting long sends
nothing: an "all clear" every morning teaches people to stop reading it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from fieldrelay.service.context import HandlerContext
from fieldrelay.service.ops import daily_mail
from fieldrelay.service.ops.ports import OpenWork

DIGEST = "ops.digest"  # the timer kind
_LISTED = 25  # errors named one by one; the rest are counted
_WAITING_NOTICED = timedelta(hours=1)  # a backlog younger than this is normal traffic, not news
_MAX_ERROR = 160  # characters of an error quoted in the list


def next_run(ctx: HandlerContext, after: datetime) -> datetime:
    """The first digest time (shop time) strictly after ``after``."""
    return daily_mail.next_run(ctx, after, ctx.settings.crm.digest.local_time())


def schedule_next(ctx: HandlerContext) -> bool:
    """Schedule the next digest when an address is configured; False when there is none or it is already due."""
    if not ctx.settings.crm.digest.to:
        return False
    return daily_mail.schedule(ctx, DIGEST, ctx.now, ctx.settings.crm.digest.local_time())


def fire_digest(ctx: HandlerContext, payload: Mapping[str, object]) -> None:
    """Queue today's digest email when something is open, and schedule tomorrow's."""
    schedule_next(ctx)
    to = ctx.settings.crm.digest.to
    if not to:
        return
    work = ctx.store.open_work(_LISTED)
    long_waiting = [w for w in work.waiting if ctx.now - w.oldest_at >= _WAITING_NOTICED]
    if work.error_total == 0 and not long_waiting:
        return
    daily_mail.queue(ctx, DIGEST, to, subject(ctx.settings.business.name, work, ctx.now), body(work, ctx.now))


def subject(shop: str, work: OpenWork, now: datetime) -> str:
    """One line saying how much is open."""
    parts = [f"{work.error_total} error{'s' if work.error_total != 1 else ''} open"]
    parts += [f"{w.rows} waiting for {w.target} ({_age(now - w.oldest_at)})" for w in work.waiting]
    return f"fieldrelay daily for {shop}: " + ", ".join(parts)


def body(work: OpenWork, now: datetime) -> str:
    """The plain-text list: open errors oldest first with their ids, then what waits per target."""
    lines = [f"Open errors: {work.error_total}"]
    for item in work.errors:
        error = (item.error or "").replace("\n", " ")[:_MAX_ERROR]
        lines.append(
            f"  {item.id:<14} {item.source:<13} {_age(now - item.at):>7} old  tries {item.attempts}  {item.summary}"
        )
        if error:
            lines.append(f"  {'':<14} {error}")
    if work.error_total > len(work.errors):
        lines.append(f"  … and {work.error_total - len(work.errors)} more: fieldrelay errors list")
    if work.waiting:
        lines += ["", "Waiting to be delivered:"]
        lines += [f"  {w.target:<13} {w.rows:>6} rows, oldest {_age(now - w.oldest_at)}" for w in work.waiting]
    lines += [
        "",
        "Replay one: fieldrelay errors retry ID (or POST /api/errors/ID/retry)",
        "Set one aside: fieldrelay errors dismiss ID --reason TEXT",
    ]
    return "\n".join(lines) + "\n"


def _age(age: timedelta) -> str:
    """An age a person reads at a glance: 45m, 5h, 3d."""
    minutes = max(int(age.total_seconds() // 60), 0)
    if minutes < 120:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"
