"""What the referral program reads and writes inside the caller's transaction (implemented by storage)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ReferrerRecord:
    """A customer enrolled to refer others, with their code."""

    id: str
    customer_id: str
    code: str
    enrolled_via: str
    enrolled_at: datetime
    status: str


@dataclass(frozen=True)
class ReferralRecord:
    """One referred customer attributed to a referrer, and where the referral stands."""

    id: str
    referrer_id: str
    referred_customer_id: str
    code: str
    captured_via: str
    captured_at: datetime
    status: str
    flags: list[str]
    milestone_at: datetime | None
    collected_cents: int | None
    reason: str | None


class ReferralStore(Protocol):
    """Referrers, referrals and rewards of one account."""

    def referrer_of(self, customer_id: str) -> ReferrerRecord | None:
        """The customer's referrer record, if they are enrolled."""
        ...

    def referrer_by_code(self, code: str) -> ReferrerRecord | None:
        """The referrer holding this code."""
        ...

    def get_referrer(self, referrer_id: str) -> ReferrerRecord | None:
        """One referrer by id."""
        ...

    def insert_referrer(self, values: Mapping[str, object]) -> str:
        """Create a referrer; return its id."""
        ...

    def referral_of(self, referred_customer_id: str) -> ReferralRecord | None:
        """The referral that brought this customer in, if any (locked on PostgreSQL)."""
        ...

    def get_referral(self, referral_id: str) -> ReferralRecord | None:
        """One referral by id (locked on PostgreSQL)."""
        ...

    def insert_referral(self, values: Mapping[str, object]) -> str:
        """Create a referral; return its id."""
        ...

    def update_referral(self, referral_id: str, values: Mapping[str, object]) -> None:
        """Change a referral's fields."""
        ...

    def referrals_since(self, referrer_id: str, since: datetime) -> int:
        """How many referrals were captured for this referrer since ``since`` (rejected ones included)."""
        ...

    def first_job_id(self, customer_id: str) -> str | None:
        """The customer's first job (the earliest created)."""
        ...

    def insert_reward(self, values: Mapping[str, object]) -> bool:
        """Record a reward unless the referral already has one; True when recorded."""
        ...
