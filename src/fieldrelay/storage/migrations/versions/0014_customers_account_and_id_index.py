"""customers indexed by (account_id, id) instead of account_id alone, so a read of some customers by id stays small

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 19:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_index("ix_customers_account", "customers", ["account_id", "id"])
    op.drop_index("ix_customers_account_id", table_name="customers")


def downgrade() -> None:
    """Revert this migration."""
    op.create_index("ix_customers_account_id", "customers", ["account_id"])
    op.drop_index("ix_customers_account", table_name="customers")
