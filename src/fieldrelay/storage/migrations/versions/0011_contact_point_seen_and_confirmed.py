"""contact points: when each phone and email was last seen, and when the customer or a person confirmed it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TABLES = ("customer_phones", "customer_emails")


def upgrade() -> None:
    """Apply this migration."""
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        # a customer's phones or emails within the shop (identity reads candidates' ones by id, with the account)
        op.create_index(f"ix_{table}_account_customer", table, ["account_id", "customer_id"])


def downgrade() -> None:
    """Revert this migration."""
    for table in _TABLES:
        op.drop_index(f"ix_{table}_account_customer", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("confirmed_at")
            batch.drop_column("seen_at")
