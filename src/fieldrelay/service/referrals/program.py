"""Referral program: enrolling referrers, attributing referred customers, and following their first job.

Qualification, review and rewards are in ``referral_rewards``. Choices the office should know:

- An existing customer cannot be referred. The attribution is still recorded, as ``rejected`` with the reason, so
  the office sees why a code did nothing. Existing means: the referrer themself (identity matching folded the
  "new" person into the referrer), or someone with work already done (a completed, invoiced or paid job). A
  first job only booked when the office types the code is the referral's own first job, not history.
- The first attribution of a customer stands; a second code for them changes nothing.
- Only the referred customer's FIRST job counts toward the milestone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fieldrelay.domain import referral_rules as rules
from fieldrelay.domain.contact import normalize_email, normalize_phone
from fieldrelay.domain.money import dollars
from fieldrelay.service.changes import JobChanged, LeadArrived, Rated, Refunded, Triggered
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.intake import customers
from fieldrelay.service.referrals import rewards as referral_rewards
from fieldrelay.service.referrals.ports import ReferralRecord, ReferrerRecord
from fieldrelay.service.referrals.rewards import ReferralError as ReferralError
from fieldrelay.service.referrals.rewards import display_name

ENROLLED_TRIGGER = "referrer.enrolled"
_CODE_TRIES = 20  # 32^6 codes: a collision is rare, twenty in a row means something is wrong
_WORK_DONE = frozenset({"completed", "invoiced", "paid"})


class UnknownCode(ReferralError):
    """No active referrer holds the code."""


class UnknownCustomer(ReferralError):
    """No customer has that id, phone or email."""


def link_for(ctx: HandlerContext, code: str) -> str:
    """The referrer's link: the configured base followed by their code."""
    return ctx.settings.referrals.link_base_url + code


def find_customer(ctx: HandlerContext, text: str) -> str:
    """The customer a person named by id, phone or email; UnknownCustomer when none matches."""
    text = text.strip()
    try:
        return ctx.store.get_customer(text).id
    except LookupError:
        pass
    phone = normalize_phone(text, ctx.settings.default_phone_region) if "@" not in text else None
    email = normalize_email(text) if "@" in text else None
    found = customers.match(ctx, [phone] if phone else [], [email] if email else [])
    if found is None:
        raise UnknownCustomer(f"no customer with id, phone or email {text!r}")
    return found


def enrol(ctx: HandlerContext, customer_id: str, via: str, by: str | None = None) -> tuple[ReferrerRecord, bool]:
    """Make the customer a referrer with a fresh code (once per customer); (referrer, True when new)."""
    store = ctx.store
    existing = store.referrer_of(customer_id)
    if existing is not None:
        return existing, False
    try:
        store.get_customer(customer_id)
    except LookupError as exc:
        raise UnknownCustomer(f"no customer {customer_id}") from exc
    code = next((c for c in (rules.new_code() for _ in range(_CODE_TRIES)) if store.referrer_by_code(c) is None), None)
    if code is None:
        raise ReferralError("could not find a free referral code")
    referrer_id = store.insert_referrer(
        {"customer_id": customer_id, "code": code, "enrolled_via": via, "enrolled_by": by, "enrolled_at": ctx.now}
    )
    link = link_for(ctx, code)
    summary = f"Enrolled in the referral program via {via}" + (f" by {by}" if by else "") + f": code {code}, {link}"
    store.add_activity(customer_id, ctx.now, "referral.enrolled", summary, "fieldrelay", True)
    # The invitation is a sequence (default: referral_invite), so consent, quiet hours and the weekly cap apply.
    ctx.publish(
        Triggered(
            customer_id,
            ctx.now,
            trigger=ENROLLED_TRIGGER,
            subject_key=f"referrer:{referrer_id}",
            context={"referral_code": code, "referral_link": link},
        )
    )
    referrer = store.get_referrer(referrer_id)
    assert referrer is not None
    return referrer, True


def on_rating(ctx: HandlerContext, change: Rated) -> None:
    """A rating of a completed job at or above ``enrol_min_rating`` enrols the customer as a referrer."""
    settings = ctx.settings.referrals
    if not settings.enabled or change.rating < settings.enrol_min_rating:
        return
    job = ctx.store.get_job(change.job_id) if change.job_id else None
    if job is None or not rules.reaches(job.status, "completed"):
        return
    enrol(ctx, change.customer_id, "rating")


def on_lead(ctx: HandlerContext, change: LeadArrived) -> None:
    """A lead carrying a referral code: attribute it; an unknown code is noted on the timeline, the lead stands."""
    event, customer_id = change.lead, change.customer_id
    if event is None or not event.referral_code or not ctx.settings.referrals.enabled:
        return
    # A link lands on the form with the code filled in, so both arrive as a form field: recorded as "form".
    try:
        attribute(ctx, customer_id, event.referral_code, "form", at=event.occurred_at, lead_ref=event.lead_ref)
    except UnknownCode as exc:
        ctx.store.add_activity(customer_id, event.occurred_at, "referral.unknown_code", str(exc), event.source, True)


def attribute(
    ctx: HandlerContext,
    customer_id: str,
    code: str,
    via: str,
    *,
    at: datetime | None = None,
    lead_ref: str | None = None,
    by: str | None = None,
) -> ReferralRecord:
    """Attribute the customer to the referrer holding ``code``; the referral (rejected when they cannot be referred)."""
    store = ctx.store
    at = at or ctx.now
    normalized = rules.normalize_code(code)
    referrer = store.referrer_by_code(normalized) if normalized else None
    if referrer is None or referrer.status != "active":
        raise UnknownCode(f"referral code {code!r} matches no active referrer")
    try:
        store.get_customer(customer_id)
    except LookupError as exc:
        raise UnknownCustomer(f"no customer {customer_id}") from exc
    existing = store.referral_of(customer_id)
    if existing is not None:
        return existing  # the first attribution stands (and the same lead delivered twice changes nothing)
    statuses, _ = store.stage_inputs(customer_id)
    rejected: str | None = None
    if customer_id == referrer.customer_id:
        rejected = "the referrer cannot refer themselves"
    elif _WORK_DONE & set(statuses):
        rejected = "already a customer before the referral (work done)"
    flags: list[str] = []
    notes: list[str] = []
    if rejected is None:
        self_reasons = rules.self_referral_reasons(_party(ctx, referrer.customer_id), _party(ctx, customer_id))
        if self_reasons:
            flags.append(rules.SELF_REFERRAL)
            notes += self_reasons
        window = ctx.settings.referrals
        recent = store.referrals_since(referrer.id, at - timedelta(days=window.window_days)) + 1
        if rules.too_many(recent, window.max_referrals):
            flags.append(rules.TOO_MANY)
            notes.append(f"{recent} referrals in {window.window_days} days (limit {window.max_referrals})")
    referral_id = store.insert_referral(
        {
            "referrer_id": referrer.id,
            "referred_customer_id": customer_id,
            "code": referrer.code,
            "captured_via": via,
            "lead_ref": lead_ref,
            "captured_at": at,
            "status": "rejected" if rejected else "pending",
            "flags": flags,
            "reason": rejected or ("; ".join(notes) or None),
            "decided_by": "fieldrelay" if rejected else by,
            "decided_at": ctx.now if rejected else None,
        }
    )
    referrer_name, referred_name = display_name(ctx, referrer.customer_id), display_name(ctx, customer_id)
    if rejected:
        summary = f"Referral by {referrer_name} (code {referrer.code}) not counted: {rejected}"
        store.add_activity(customer_id, at, "referral.rejected", summary, "fieldrelay", True)
    else:
        flagged = f" — flagged for review: {'; '.join(notes)}" if notes else ""
        summary = f"Referred by {referrer_name} (code {referrer.code}, via {via}){flagged}"
        store.add_activity(customer_id, at, "referral.captured", summary, "fieldrelay", True)
        store.add_activity(
            referrer.customer_id, at, "referral.captured", f"Referred {referred_name}", "fieldrelay", True
        )
    referral = store.get_referral(referral_id)
    assert referral is not None
    first_job = store.first_job_id(customer_id)
    if referral.status == "pending" and first_job is not None:
        # The office typed the code after booking the first job: it may have reached the milestone already.
        job = store.get_job(first_job)
        if job is not None:
            check_milestone(ctx, customer_id, job.id, job.status_at, None)
    return store.get_referral(referral_id) or referral


def on_job(ctx: HandlerContext, change: JobChanged) -> None:
    """A job changed: when it is a referred customer's first job and reaches the milestone, the referral qualifies."""
    if change.record_id is None:
        return
    # A job short of the milestone (a booking, say) qualifies nothing: no referral to look up for it.
    if change.job is not None and not rules.reaches(change.job.status, ctx.settings.referrals.milestone):
        return
    check_milestone(ctx, change.customer_id, change.record_id, change.occurred_at, change.amount_cents)


def check_milestone(ctx: HandlerContext, customer_id: str, job_id: str, at: datetime, amount_cents: int | None) -> None:
    """Qualify the customer's referral when ``job_id`` is their first job and has reached the milestone."""
    store = ctx.store
    referral = store.referral_of(customer_id)
    if referral is None or referral.status != "pending" or store.first_job_id(customer_id) != job_id:
        return
    job = store.get_job(job_id)
    milestone = ctx.settings.referrals.milestone
    if job is None or not rules.reaches(job.status, milestone):
        return
    collected: int | None = None
    if milestone == "paid":
        collected = amount_cents if amount_cents is not None else job.total_cents
        minimum = ctx.settings.referrals.min_collected_cents
        if (collected or 0) < minimum:
            store.update_referral(referral.id, {"collected_cents": collected})
            summary = f"Referral not qualified yet: {dollars(collected or 0)} collected, {dollars(minimum)} needed"
            store.add_activity(customer_id, at, "referral.short", summary, "fieldrelay", True)
            return
    referral_rewards.qualify(ctx, referral, at, collected)


def on_refund(ctx: HandlerContext, change: Refunded) -> None:
    """A refund or chargeback for a referred customer disqualifies the referral unless the reward was issued."""
    store, customer_id, at, summary = ctx.store, change.customer_id, change.occurred_at, change.summary
    referral = store.referral_of(customer_id)
    if referral is None or referral.status in ("rejected", "disqualified"):
        return
    if referral.status == "rewarded":
        note = f"Referral reward stands: it was issued before this refund ({summary})"
        store.add_activity(customer_id, at, "referral.refund_after_reward", note, "fieldrelay", True)
        return
    reason = f"refund or chargeback before the reward: {summary}"
    store.update_referral(referral.id, {"status": "disqualified", "reason": reason, "decided_at": ctx.now})
    store.add_activity(customer_id, at, "referral.disqualified", f"Referral disqualified: {reason}", "fieldrelay", True)
    referrer = store.get_referrer(referral.referrer_id)
    if referrer is not None:
        name = display_name(ctx, customer_id)
        store.add_activity(
            referrer.customer_id,
            at,
            "referral.disqualified",
            f"Referral of {name} disqualified: refund",
            "fieldrelay",
            True,
        )


def _party(ctx: HandlerContext, customer_id: str) -> rules.Party:
    customer = ctx.store.get_customer(customer_id)
    return rules.Party(
        phones=ctx.store.phones_of(customer_id),
        emails=ctx.store.emails_of(customer_id),
        last_name=customer.last_name,
        street=customer.street,
        postal_code=customer.postal_code,
    )
