"""timers carry their sequence enrolment, so an ended enrolment's steps are cancelled through an index

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this migration."""
    op.add_column("timers", sa.Column("enrollment_id", sa.String(36), nullable=True))
    # A step's key is ``seq:{enrollment id}:{step}[:{attempt}]`` and enrolment ids are 36-character UUIDs.
    op.execute("UPDATE timers SET enrollment_id = substr(key, 5, 36) WHERE kind = 'sequence_step' AND key LIKE 'seq:%'")
    op.create_index("ix_timers_enrollment", "timers", ["account_id", "enrollment_id", "status"])


def downgrade() -> None:
    """Revert this migration."""
    op.drop_index("ix_timers_enrollment", table_name="timers")
    with op.batch_alter_table("timers") as batch:
        batch.drop_column("enrollment_id")
