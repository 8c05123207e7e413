"""Everything the simulated week sends, planned up front from one seed, and the office that works the queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fieldrelay.sim.leads import SimSubmission, build_leads, customers_of, digits
from fieldrelay.sim.office import Office
from fieldrelay.sim.referred import Referral, build_referrals
from fieldrelay.sim.replies import SimReply, build_replies
from fieldrelay.sim.shop import SimDelivery, build_week


@dataclass
class WeekPlan:
    """The week's Housecall Pro deliveries, form submissions, text replies and referred friends, and the office."""

    deliveries: list[SimDelivery]  # the shop's jobs and estimates, and the referred friends' first jobs
    leads: list[SimSubmission]  # website forms, the referred friends' included
    replies: list[SimReply]
    referrals: list[Referral]
    office: Office


def plan_week(start: datetime, seed: int = 7) -> WeekPlan:
    """Plan one simulated week: deterministic per seed (the office's moments and outcomes too)."""
    shop = build_week(start, seed=seed)
    leads = build_leads(shop, start, seed=seed)
    replies = build_replies(shop, seed=seed)
    writers = {digits(s.fields["phone"]): s.fields.get("name", "") for s in leads if s.fields.get("phone")}
    referrals = build_referrals(shop, replies, writers, start, seed=seed)
    # What a caller tells the CSR when asked for their ZIP: everyone the week knows, by phone.
    directory = {digits(n): c.zip for _, c in customers_of(shop) for n in (c.mobile_number, c.home_number) if n}
    for s in leads:
        if s.fields.get("phone") and s.fields.get("zip"):
            directory[digits(s.fields["phone"])] = s.fields["zip"]
    deliveries = sorted([*shop, *(d for r in referrals for d in r.deliveries)], key=lambda d: d.deliver_at)
    submissions = sorted([*leads, *(r.submission for r in referrals)], key=lambda s: s.deliver_at)
    return WeekPlan(deliveries, submissions, replies, referrals, Office(seed, directory))
