"""Read models the office's customer profile adds to storage/queries.py: the timeline by pages, newest first, and
the customer's place in the referral programme (as a referrer, and as someone referred)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from fieldrelay.storage.handoff.tables import referrals, referrers
from fieldrelay.storage.lookup import display_name
from fieldrelay.storage.tables import activities, customers


@dataclass(frozen=True)
class Entry:
    """One timeline entry."""

    at: datetime
    kind: str
    summary: str
    source: str


@dataclass(frozen=True)
class TimelinePage:
    """A page of the timeline, newest first, and how many entries there are in all."""

    entries: list[Entry]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        """How many pages the timeline has (at least one, even when it is empty)."""
        return max(1, -(-self.total // self.size))


@dataclass(frozen=True)
class ReferralStatus:
    """The customer as a referrer (their code and its state) and as a referred customer (who sent them, where the
    referral stands)."""

    code: str | None = None
    referrer_status: str | None = None
    referred_by: str | None = None
    referral_status: str | None = None
    referral_code: str | None = None
    referral_reason: str | None = None


def timeline_page(conn: Connection, account_id: str, customer_id: str, page: int = 1, size: int = 25) -> TimelinePage:
    """Page ``page`` (from 1) of the customer's timeline, newest first."""
    a = activities.c
    mine = (a.account_id == account_id, a.customer_id == customer_id)
    total = int(conn.execute(select(func.count()).select_from(activities).where(*mine)).scalar_one())
    page = max(1, page)
    rows = conn.execute(
        select(a.at, a.kind, a.summary, a.source)
        .where(*mine)
        .order_by(a.at.desc(), a.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return TimelinePage([Entry(r.at, r.kind, r.summary, r.source) for r in rows], total, page, size)


def referral_status(conn: Connection, account_id: str, customer_id: str) -> ReferralStatus:
    """Where the customer stands in the referral programme (every field None: not in it)."""
    own = conn.execute(
        select(referrers.c.code, referrers.c.status).where(
            referrers.c.account_id == account_id, referrers.c.customer_id == customer_id
        )
    ).first()
    c = customers.c
    referred = conn.execute(
        select(referrals.c.status, referrals.c.code, referrals.c.reason, c.name, c.first_name, c.last_name)
        .join(referrers, referrers.c.id == referrals.c.referrer_id)
        .join(customers, c.id == referrers.c.customer_id)
        .where(referrals.c.account_id == account_id, referrals.c.referred_customer_id == customer_id)
    ).first()
    return ReferralStatus(
        code=own.code if own else None,
        referrer_status=own.status if own else None,
        referred_by=display_name(referred) if referred else None,
        referral_status=referred.status if referred else None,
        referral_code=referred.code if referred else None,
        referral_reason=referred.reason if referred else None,
    )


def name_parts(conn: Connection, account_id: str, customer_id: str) -> tuple[str | None, str | None]:
    """The customer's first and last name as stored (the edit form starts from them)."""
    c = customers.c
    row = conn.execute(select(c.first_name, c.last_name).where(c.account_id == account_id, c.id == customer_id)).first()
    return (row.first_name, row.last_name) if row else (None, None)


def names_of(conn: Connection, account_id: str, customer_ids: set[str]) -> dict[str, str]:
    """Customer id → the name the office knows them by, for lists that name several customers."""
    if not customer_ids:
        return {}
    c = customers.c
    rows = conn.execute(
        select(c.id, c.name, c.first_name, c.last_name).where(c.account_id == account_id, c.id.in_(customer_ids))
    )
    return {row.id: display_name(row) for row in rows}
