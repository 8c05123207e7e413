"""Referral outcomes: qualification, the review of flagged referrals, and the reward with its thank-you text.

A referral that reached its milestone goes to review instead of a reward when a fraud rule flagged it (self-
referral, too many, too fast) or ``require_approval`` is set. With ``reward_issue: automatic`` the reward is
recorded the moment a referral qualifies cleanly or is approved; with ``manual`` it waits for a person
(``fieldrelay referrals reward ID``).
"""

from __future__ import annotations

from datetime import datetime

from fieldrelay.domain import referral_rules as rules
from fieldrelay.domain.money import dollars
from fieldrelay.service.changes import Triggered
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.referrals.ports import ReferralRecord

REWARDED_TRIGGER = "referral.rewarded"
_FLAG_WORDS = {
    rules.SELF_REFERRAL: "looks like a self-referral",
    rules.TOO_MANY: "too many referrals in the window",
    rules.TOO_FAST: "milestone reached too fast",
}


class ReferralError(Exception):
    """A referral action a person asked for that cannot be done; the message says why."""


def display_name(ctx: HandlerContext, customer_id: str) -> str:
    """A customer's name as the timeline shows it."""
    customer = ctx.store.get_customer(customer_id)
    return " ".join(p for p in (customer.first_name, customer.last_name) if p) or customer_id[:8]


def qualify(ctx: HandlerContext, referral: ReferralRecord, at: datetime, collected: int | None) -> None:
    """The first job reached the milestone: reward it, or send it to review when flagged or approval is required."""
    settings = ctx.settings.referrals
    flags = list(referral.flags)
    if rules.too_fast(referral.captured_at, at, settings.min_days_to_milestone) and rules.TOO_FAST not in flags:
        flags.append(rules.TOO_FAST)
    store = ctx.store
    values: dict[str, object] = {"milestone_at": at, "collected_cents": collected, "flags": flags}
    if flags or settings.require_approval:
        why = ", ".join(_FLAG_WORDS.get(f, f) for f in flags) or "approval required"
        store.update_referral(referral.id, {**values, "status": "review"})
        summary = f"Referral reached {settings.milestone}; waits for review: {why}"
        store.add_activity(referral.referred_customer_id, at, "referral.review", summary, "fieldrelay", True)
        return
    store.update_referral(referral.id, {**values, "status": "qualified"})
    summary = f"Referral qualified: first job {settings.milestone}"
    store.add_activity(referral.referred_customer_id, at, "referral.qualified", summary, "fieldrelay", True)
    if settings.reward_issue == "automatic":
        issue(ctx, referral.id, "fieldrelay")


def _open(ctx: HandlerContext, referral_id: str) -> ReferralRecord:
    referral = ctx.store.get_referral(referral_id)
    if referral is None:
        raise LookupError(f"no referral {referral_id}")
    return referral


def approve(ctx: HandlerContext, referral_id: str, by: str, reason: str | None = None) -> ReferralRecord:
    """A person approves a referral waiting for review; automatic issue rewards it at once."""
    referral = _open(ctx, referral_id)
    if referral.status != "review":
        raise ReferralError(f"referral {referral_id} is {referral.status}, not waiting for review")
    ctx.store.update_referral(
        referral.id, {"status": "approved", "decided_by": by, "decided_at": ctx.now, "reason": reason}
    )
    note = f"Referral approved by {by}" + (f": {reason}" if reason else "")
    ctx.store.add_activity(referral.referred_customer_id, ctx.now, "referral.approved", note, "fieldrelay", True)
    if ctx.settings.referrals.reward_issue == "automatic":
        issue(ctx, referral.id, by)
    return _open(ctx, referral_id)


def reject(ctx: HandlerContext, referral_id: str, by: str, reason: str) -> ReferralRecord:
    """A person rejects a referral that has not been rewarded; no reward will follow."""
    referral = _open(ctx, referral_id)
    if referral.status in ("rewarded", "rejected", "disqualified"):
        raise ReferralError(f"referral {referral_id} is already {referral.status}")
    ctx.store.update_referral(
        referral.id, {"status": "rejected", "decided_by": by, "decided_at": ctx.now, "reason": reason}
    )
    note = f"Referral rejected by {by}: {reason}"
    ctx.store.add_activity(referral.referred_customer_id, ctx.now, "referral.rejected", note, "fieldrelay", True)
    return _open(ctx, referral_id)


def issue(ctx: HandlerContext, referral_id: str, by: str) -> ReferralRecord:
    """Record the reward of a qualified or approved referral, note it on both timelines and thank the referrer."""
    store, settings = ctx.store, ctx.settings.referrals
    referral = _open(ctx, referral_id)
    if referral.status not in ("qualified", "approved"):
        raise ReferralError(
            f"referral {referral_id} is {referral.status}: only qualified or approved ones are rewarded"
        )
    referrer = store.get_referrer(referral.referrer_id)
    assert referrer is not None
    amount = dollars(settings.reward_cents)
    if store.insert_reward(
        {
            "referral_id": referral.id,
            "amount_cents": settings.reward_cents,
            "method": settings.reward_method,
            "issued_by": by,
        }
    ):
        store.update_referral(referral.id, {"status": "rewarded"})
        referred_name = display_name(ctx, referral.referred_customer_id)
        referrer_name = display_name(ctx, referrer.customer_id)
        store.add_activity(
            referrer.customer_id,
            ctx.now,
            "referral.rewarded",
            f"Referral reward issued: {amount} {settings.reward_method} for referring {referred_name}",
            "fieldrelay",
            True,
        )
        store.add_activity(
            referral.referred_customer_id,
            ctx.now,
            "referral.rewarded",
            f"Referral reward issued to {referrer_name}, who referred this customer",
            "fieldrelay",
            True,
        )
        # The thank-you is a sequence (default: referral_thanks), so the referrer's consent decides.
        ctx.publish(
            Triggered(
                referrer.customer_id,
                ctx.now,
                trigger=REWARDED_TRIGGER,
                subject_key=f"referral:{referral.id}",
                context={"reward": amount, "referral_code": referrer.code, "referred_name": referred_name},
            )
        )
    return _open(ctx, referral_id)
