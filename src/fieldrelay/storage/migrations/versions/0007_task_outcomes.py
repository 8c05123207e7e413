"""task outcomes: who closed a task, with which outcome, and their note

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.add_column("tasks", sa.Column("closed_by", sa.String(length=100), nullable=True))
    op.add_column("tasks", sa.Column("outcome", sa.String(length=32), nullable=True))
    op.add_column("tasks", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    op.drop_column("tasks", "note")
    op.drop_column("tasks", "outcome")
    op.drop_column("tasks", "closed_by")
