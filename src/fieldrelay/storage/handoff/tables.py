"""Tables of the lead-handoff SOP and the referral program: the team, referrers, referrals and their rewards."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint

from fieldrelay.storage.tables import _utc, metadata

# The people who own pipeline stages: a role each, and the lead they escalate to (by name, within the account).
team_members = Table(
    "team_members",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    # owner, operations, dispatcher, office, sales, technician (rules/sequences.py Role)
    Column("role", String(32), nullable=False),
    Column("email", String(254)),
    Column("phone", String(20)),
    Column("reports_to", String(100)),
    Column("active", Boolean, nullable=False),
    Column("created_at", _utc(), nullable=False),
    Column("updated_at", _utc(), nullable=False),
    UniqueConstraint("account_id", "name", name="uq_team_members_name"),
)

# A satisfied customer who may refer others: one per customer, with a short code unique within the account.
referrers = Table(
    "referrers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("code", String(16), nullable=False),
    # how they joined: rating, hand (a person), import
    Column("enrolled_via", String(16), nullable=False),
    Column("enrolled_by", String(100)),
    Column("enrolled_at", _utc(), nullable=False),
    # active | paused
    Column("status", String(16), nullable=False),
    UniqueConstraint("account_id", "customer_id", name="uq_referrers_customer"),
    UniqueConstraint("account_id", "code", name="uq_referrers_code"),
)

# One referred person, attributed to a referrer; moves pending → qualified | review → approved | rejected → rewarded,
# or disqualified (refund or chargeback before the reward). One referral per referred customer.
referrals = Table(
    "referrals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("referrer_id", String(36), ForeignKey("referrers.id"), nullable=False, index=True),
    Column("referred_customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("code", String(16), nullable=False),
    # where the code came from: form, link, csr, import
    Column("captured_via", String(16), nullable=False),
    Column("lead_ref", String(100)),
    Column("captured_at", _utc(), nullable=False),
    Column("status", String(16), nullable=False),
    # the fraud rules that sent it to review (self_referral, too_many, too_fast), empty when none
    Column("flags", JSON, nullable=False),
    Column("milestone_at", _utc()),
    Column("collected_cents", BigInteger),
    Column("decided_by", String(100)),
    Column("decided_at", _utc()),
    Column("reason", Text),
    Column("updated_at", _utc(), nullable=False),
    UniqueConstraint("account_id", "referred_customer_id", name="uq_referrals_referred"),
)
Index("ix_referrals_status", referrals.c.account_id, referrals.c.status)

referral_rewards = Table(
    "referral_rewards",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("referral_id", String(36), ForeignKey("referrals.id"), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("method", String(32), nullable=False),
    Column("issued_by", String(100)),
    Column("issued_at", _utc(), nullable=False),
    Column("note", Text),
    UniqueConstraint("referral_id", name="uq_referral_rewards_referral"),
)
