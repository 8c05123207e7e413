"""outbox intent keys and message touches

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 13:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.add_column("outbox", sa.Column("intent_key", sa.String(length=200), nullable=True))
    # A unique index rather than a constraint: SQLite adds it without rebuilding the table; NULLs never collide.
    op.create_index("uq_outbox_intent", "outbox", ["account_id", "intent_key"], unique=True)
    op.add_column("messages", sa.Column("touch", sa.String(length=100), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    op.drop_column("messages", "touch")
    op.drop_index("uq_outbox_intent", table_name="outbox")
    op.drop_column("outbox", "intent_key")
