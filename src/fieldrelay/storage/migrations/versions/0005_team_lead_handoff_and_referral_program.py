"""team, lead handoff and referral program

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 20:24:12.879900
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "team_members",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("reports_to", sa.String(length=100), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_members")),
        sa.UniqueConstraint("account_id", "name", name="uq_team_members_name"),
    )
    op.create_table(
        "referrers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("enrolled_via", sa.String(length=16), nullable=False),
        sa.Column("enrolled_by", sa.String(length=100), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_referrers_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrers")),
        sa.UniqueConstraint("account_id", "code", name="uq_referrers_code"),
        sa.UniqueConstraint("account_id", "customer_id", name="uq_referrers_customer"),
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("referrer_id", sa.String(length=36), nullable=False),
        sa.Column("referred_customer_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("captured_via", sa.String(length=16), nullable=False),
        sa.Column("lead_ref", sa.String(length=100), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("milestone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collected_cents", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["referred_customer_id"], ["customers.id"], name=op.f("fk_referrals_referred_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["referrer_id"], ["referrers.id"], name=op.f("fk_referrals_referrer_id_referrers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("account_id", "referred_customer_id", name="uq_referrals_referred"),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_referrer_id"), ["referrer_id"], unique=False)
        batch_op.create_index("ix_referrals_status", ["account_id", "status"], unique=False)

    op.create_table(
        "referral_rewards",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("referral_id", sa.String(length=36), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_referral_rewards_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_rewards")),
        sa.UniqueConstraint("referral_id", name="uq_referral_rewards_referral"),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("next_action", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("next_action_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("service_zip", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("job_type", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("requested_for", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("lead_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deal_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_to", sa.String(length=100), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("escalated_to")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("deal_id")

    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_column("first_response_at")
        batch_op.drop_column("lead_at")
        batch_op.drop_column("requested_for")
        batch_op.drop_column("job_type")
        batch_op.drop_column("service_zip")
        batch_op.drop_column("next_action_due_at")
        batch_op.drop_column("next_action")
        batch_op.drop_column("owner")

    op.drop_table("referral_rewards")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_status")
        batch_op.drop_index(batch_op.f("ix_referrals_referrer_id"))

    op.drop_table("referrals")
    op.drop_table("referrers")
    op.drop_table("team_members")
