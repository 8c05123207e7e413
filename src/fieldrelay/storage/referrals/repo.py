"""Referrers, referrals and rewards inside the caller's transaction (mixed into SqlMirror)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from fieldrelay.service.referrals.ports import ReferralRecord, ReferrerRecord
from fieldrelay.storage import prepared
from fieldrelay.storage.handoff.tables import referral_rewards, referrals, referrers
from fieldrelay.storage.prepared import insert_ignore
from fieldrelay.storage.tables import jobs

_REFERRAL_OF = select(referrals).where(
    referrals.c.account_id == bindparam("b_account"), referrals.c.referred_customer_id == bindparam("b_customer")
)


def _referrer(row: Any) -> ReferrerRecord:
    return ReferrerRecord(row.id, row.customer_id, row.code, row.enrolled_via, row.enrolled_at, row.status)


def _referral(row: Any) -> ReferralRecord:
    return ReferralRecord(
        id=row.id,
        referrer_id=row.referrer_id,
        referred_customer_id=row.referred_customer_id,
        code=row.code,
        captured_via=row.captured_via,
        captured_at=row.captured_at,
        status=row.status,
        flags=list(row.flags or []),
        milestone_at=row.milestone_at,
        collected_cents=row.collected_cents,
        reason=row.reason,
    )


class SqlReferrals:
    """Referral program reads and writes of one account."""

    _conn: Connection
    _account: str
    _now: datetime
    _lock: bool

    def _referrer_where(self, *where: Any) -> ReferrerRecord | None:
        row = self._conn.execute(select(referrers).where(referrers.c.account_id == self._account, *where)).first()
        return _referrer(row) if row is not None else None

    def _referral_where(self, *where: Any) -> ReferralRecord | None:
        query = select(referrals).where(referrals.c.account_id == self._account, *where)
        if self._lock:
            query = query.with_for_update()  # the milestone and a refund may race for the same referral
        row = self._conn.execute(query).first()
        return _referral(row) if row is not None else None

    def referrer_of(self, customer_id: str) -> ReferrerRecord | None:
        """The customer's referrer record, if they are enrolled."""
        return self._referrer_where(referrers.c.customer_id == customer_id)

    def referrer_by_code(self, code: str) -> ReferrerRecord | None:
        """The referrer holding this code."""
        return self._referrer_where(referrers.c.code == code)

    def get_referrer(self, referrer_id: str) -> ReferrerRecord | None:
        """One referrer by id."""
        return self._referrer_where(referrers.c.id == referrer_id)

    def insert_referrer(self, values: Mapping[str, object]) -> str:
        """Create a referrer; return its id."""
        row = {"id": str(uuid.uuid4()), "status": "active", "enrolled_at": self._now, **values}
        self._conn.execute(referrers.insert().values(**row, account_id=self._account))
        return str(row["id"])

    def referral_of(self, referred_customer_id: str) -> ReferralRecord | None:
        """The referral that brought this customer in, if any (asked on every job event: a statement built once)."""
        query = prepared.locked(_REFERRAL_OF) if self._lock else _REFERRAL_OF
        row = self._conn.execute(query, {"b_account": self._account, "b_customer": referred_customer_id}).first()
        return _referral(row) if row is not None else None

    def get_referral(self, referral_id: str) -> ReferralRecord | None:
        """One referral by id."""
        return self._referral_where(referrals.c.id == referral_id)

    def insert_referral(self, values: Mapping[str, object]) -> str:
        """Create a referral; return its id."""
        row = {"id": str(uuid.uuid4()), "flags": [], "captured_at": self._now, "updated_at": self._now, **values}
        self._conn.execute(referrals.insert().values(**row, account_id=self._account))
        return str(row["id"])

    def update_referral(self, referral_id: str, values: Mapping[str, object]) -> None:
        """Change a referral's fields."""
        c = referrals.c
        self._conn.execute(
            update(referrals)
            .where(c.account_id == self._account, c.id == referral_id)
            .values(**values, updated_at=self._now)
        )

    def referrals_since(self, referrer_id: str, since: datetime) -> int:
        """How many referrals were captured for this referrer since ``since``."""
        c = referrals.c
        query = select(func.count()).where(
            c.account_id == self._account, c.referrer_id == referrer_id, c.captured_at >= since
        )
        return int(self._conn.execute(query).scalar_one())

    def first_job_id(self, customer_id: str) -> str | None:
        """The customer's first job (the earliest created)."""
        c = jobs.c
        query = (
            select(c.id)
            .where(c.account_id == self._account, c.customer_id == customer_id)
            .order_by(c.created_at, c.id)
            .limit(1)
        )
        found = self._conn.execute(query).scalar()
        return str(found) if found is not None else None

    def insert_reward(self, values: Mapping[str, object]) -> bool:
        """Record a reward unless the referral already has one; True when recorded."""
        row = {"id": str(uuid.uuid4()), "issued_at": self._now, **values, "account_id": self._account}
        return insert_ignore(self._conn, referral_rewards, row)
