"""health samples a minute, each outside CRM's circuit state, and due timers by account and status, for the Health
page

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "health_samples",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("oldest_seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "minute", "queue", "target", name=op.f("pk_health_samples")),
    )
    op.create_table(
        "circuit_states",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_probe_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "target", name=op.f("pk_circuit_states")),
    )
    op.create_index("ix_timers_account_status_due", "timers", ["account_id", "status", "due_at"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_timers_account_status_due", table_name="timers")
    op.drop_table("circuit_states")
    op.drop_table("health_samples")
