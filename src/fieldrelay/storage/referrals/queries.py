"""Read models of the referral program for the office: the referrers with their codes and how their referrals went."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, case, func, select

from fieldrelay.storage.handoff.tables import referrals, referrers
from fieldrelay.storage.tables import customers


@dataclass(frozen=True)
class ReferrerView:
    """One referrer: who they are, their code, how they joined, and their referrals so far."""

    id: str
    customer_id: str
    name: str | None
    code: str
    enrolled_via: str
    enrolled_by: str | None
    enrolled_at: datetime
    status: str
    referred: int
    rewarded: int


def list_referrers(conn: Connection, account_id: str, limit: int = 500) -> list[ReferrerView]:
    """Referrers newest first, with their referrals counted (rejected ones included) and those rewarded."""
    r = referrals.c
    counts = (
        select(
            r.referrer_id,
            func.count().label("referred"),
            func.sum(case((r.status == "rewarded", 1), else_=0)).label("rewarded"),
        )
        .where(r.account_id == account_id)
        .group_by(r.referrer_id)
        .subquery()
    )
    e = referrers.c
    query = (
        select(
            e.id,
            e.customer_id,
            customers.c.name,
            e.code,
            e.enrolled_via,
            e.enrolled_by,
            e.enrolled_at,
            e.status,
            func.coalesce(counts.c.referred, 0).label("referred"),
            func.coalesce(counts.c.rewarded, 0).label("rewarded"),
        )
        .join(customers, customers.c.id == e.customer_id)
        .outerjoin(counts, counts.c.referrer_id == e.id)
        .where(e.account_id == account_id)
        .order_by(e.enrolled_at.desc(), e.id)
        .limit(limit)
    )
    return [
        ReferrerView(**{**row, "referred": int(row["referred"]), "rewarded": int(row["rewarded"])})
        for row in conn.execute(query).mappings()
    ]


def count_referrers(conn: Connection, account_id: str) -> int:
    """How many referrers the account has (the list shows at most its limit)."""
    return int(conn.execute(select(func.count()).where(referrers.c.account_id == account_id)).scalar_one())
