"""messages.review_platform: the review site (google, yelp, facebook…) of the review link a message carried

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 18:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("review_platform", sa.String(length=32), nullable=True))


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("review_platform")
