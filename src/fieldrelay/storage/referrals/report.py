"""Referral program figures (report and API) and the list of referrals the office reviews."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from fieldrelay.storage.handoff.tables import referral_rewards, referrals, referrers
from fieldrelay.storage.tables import customers, jobs

# Statuses of a referral whose first job reached the milestone and that was not thrown out afterwards.
QUALIFIED = ("qualified", "approved", "rewarded")
# Waiting for a reward: qualified or approved (manual issue), or waiting for a person's review.
_PENDING_REWARD = ("qualified", "approved", "review")


@dataclass(frozen=True)
class ReferralFigures:
    """How the referral program is doing."""

    referrers: int  # enrolments
    referred: int  # referred leads attributed to a referrer (rejected ones included)
    by_status: dict[str, int]
    qualified: int
    rewards_issued: int
    rewards_issued_cents: int
    rewards_pending: int
    referred_revenue_cents: int  # paid jobs of referred customers whose referral was not rejected

    @property
    def qualification_rate(self) -> float | None:
        """Qualified referrals over referred leads; None before the first referral."""
        return self.qualified / self.referred if self.referred else None

    def as_json(self) -> dict[str, Any]:
        """The figures as the API and `fieldrelay report --json` give them."""
        return {**asdict(self), "qualification_rate": self.qualification_rate}


def referral_figures(conn: Connection, account_id: str) -> ReferralFigures:
    """Read the referral figures of one account."""
    r, w, j = referrals.c, referral_rewards.c, jobs.c
    enrolled = conn.execute(select(func.count()).where(referrers.c.account_id == account_id)).scalar_one()
    by_status: dict[str, int] = {
        str(status): int(n)
        for status, n in conn.execute(
            select(r.status, func.count()).where(r.account_id == account_id).group_by(r.status)
        ).all()
    }
    issued, issued_cents = conn.execute(
        select(func.count(), func.coalesce(func.sum(w.amount_cents), 0)).where(w.account_id == account_id)
    ).one()
    counted = select(r.referred_customer_id).where(r.account_id == account_id, r.status.not_in(("rejected",)))
    revenue = conn.execute(
        select(func.coalesce(func.sum(j.total_cents), 0)).where(
            j.account_id == account_id, j.status == "paid", j.customer_id.in_(counted)
        )
    ).scalar_one()
    return ReferralFigures(
        referrers=int(enrolled),
        referred=sum(by_status.values()),
        by_status=by_status,
        qualified=sum(by_status.get(s, 0) for s in QUALIFIED),
        rewards_issued=int(issued),
        rewards_issued_cents=int(issued_cents),
        rewards_pending=sum(by_status.get(s, 0) for s in _PENDING_REWARD),
        referred_revenue_cents=int(revenue),
    )


def list_referrals(
    conn: Connection, account_id: str, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Referrals newest first, with the referrer's and the referred customer's names."""
    r = referrals.c
    referrer_customer = customers.alias("referrer_customer")
    referred_customer = customers.alias("referred_customer")
    query = (
        select(
            r.id,
            r.status,
            r.code,
            r.captured_via,
            r.captured_at,
            r.flags,
            r.reason,
            r.milestone_at,
            r.collected_cents,
            r.referred_customer_id,
            referrers.c.customer_id.label("referrer_customer_id"),
            referrer_customer.c.name.label("referrer_name"),
            referred_customer.c.name.label("referred_name"),
        )
        .join(referrers, referrers.c.id == r.referrer_id)
        .join(referrer_customer, referrer_customer.c.id == referrers.c.customer_id)
        .join(referred_customer, referred_customer.c.id == r.referred_customer_id)
        .where(r.account_id == account_id)
        .order_by(r.captured_at.desc(), r.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(r.status == status)
    items = []
    for row in conn.execute(query).mappings():
        item = dict(row)
        for key in ("captured_at", "milestone_at"):
            item[key] = item[key].isoformat() if item[key] is not None else None
        item["flags"] = list(item["flags"] or [])
        items.append(item)
    return items
