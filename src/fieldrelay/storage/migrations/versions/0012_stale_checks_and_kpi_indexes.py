"""the stale-record check's history and the indexes the office app's Reports and Health pages read by

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_deals_lead_at", "deals", ["account_id", "lead_at"]),
    ("ix_service_history_completed_at", "service_history", ["account_id", "completed_at"]),
    ("ix_jobs_paid_at", "jobs", ["account_id", "paid_at"]),
    ("ix_activities_kind_at", "activities", ["account_id", "kind", "at"]),
    ("ix_messages_customer_sent", "messages", ["customer_id", "sent_at"]),
    ("ix_messages_job_purpose", "messages", ["job_id", "purpose"]),
    ("ix_inbox_received_at", "inbox", ["account_id", "received_at"]),
    ("ix_inbox_processed_at", "inbox", ["account_id", "processed_at"]),
    ("ix_outbox_sent_at", "outbox", ["account_id", "sent_at"]),
    ("ix_delivery_attempts_started_at", "delivery_attempts", ["account_id", "started_at"]),
    ("ix_inbox_account_status", "inbox", ["account_id", "status"]),
    ("ix_timers_account_status", "timers", ["account_id", "status"]),
    ("ix_outbox_account_status", "outbox", ["account_id", "status"]),
    ("ix_messages_scheduled_for", "messages", ["account_id", "scheduled_for"]),
    ("ix_enrollments_enrolled_at", "enrollments", ["account_id", "enrolled_at"]),
)


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "stale_checks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("stale", sa.Integer(), nullable=False),
        sa.Column("stale_after_minutes", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stale_checks")),
    )
    op.create_index("ix_stale_checks_time", "stale_checks", ["account_id", "checked_at"])
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    """Revert this migration."""
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_stale_checks_time", table_name="stale_checks")
    op.drop_table("stale_checks")
