"""covering indexes for the Reports, Reviews and Sequences pages: each replaces a narrower one it starts with

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 19:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# (new index, table, its columns, the index it replaces, that one's columns)
_REPLACED = (
    (
        "ix_deals_lead_response",
        "deals",
        ["account_id", "lead_at", "first_response_at", "customer_id"],
        "ix_deals_lead_at",
        ["account_id", "lead_at"],
    ),
    (
        "ix_activities_kind_at_customer",
        "activities",
        ["account_id", "kind", "at", "applied", "customer_id"],
        "ix_activities_kind_at",
        ["account_id", "kind", "at"],
    ),
    (
        "ix_messages_job_purpose_clicked",
        "messages",
        ["job_id", "purpose", "clicked_at"],
        "ix_messages_job_purpose",
        ["job_id", "purpose"],
    ),
    (
        "ix_messages_enrollment_funnel",
        "messages",
        ["enrollment_id", "purpose", "sent_at", "status", "opened_at", "clicked_at"],
        "ix_messages_enrollment_id",
        ["enrollment_id"],
    ),
    (
        "ix_messages_scheduled_review",
        "messages",
        [
            "account_id",
            "scheduled_for",
            "purpose",
            "channel",
            "review_platform",
            "status",
            "sent_at",
            "clicked_at",
            "trigger_at",
            "job_id",
        ],
        "ix_messages_scheduled_for",
        ["account_id", "scheduled_for"],
    ),
    (
        "ix_enrollments_enrolled_funnel",
        "enrollments",
        [
            "account_id",
            "enrolled_at",
            "sequence",
            "status",
            "exit_reason",
            "last_step",
            "id",
            "customer_id",
            "job_id",
            "updated_at",
        ],
        "ix_enrollments_enrolled_at",
        ["account_id", "enrolled_at"],
    ),
)


def upgrade() -> None:
    """Apply this migration."""
    for name, table, columns, old, _ in _REPLACED:
        op.create_index(name, table, columns)
        op.drop_index(old, table_name=table)


def downgrade() -> None:
    """Revert this migration."""
    for name, table, _, old, old_columns in reversed(_REPLACED):
        op.create_index(old, table, old_columns)
        op.drop_index(name, table_name=table)
