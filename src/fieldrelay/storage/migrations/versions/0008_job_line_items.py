"""jobs keep their line items, for the events that carry no job snapshot (a payment matched by Stripe)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    # NULL for the jobs stored before: their line items were never kept, and the field mapping leaves the CRM's
    # line items untouched rather than clear them when such a job is paid through the payment processor.
    op.add_column("jobs", sa.Column("line_items", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    op.drop_column("jobs", "line_items")
