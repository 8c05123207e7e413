"""PostgreSQL: NOTIFY fieldrelay_inbox when inbox rows are committed, so idle workers wake at once (LISTEN)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 21:30:00.000000

A statement-level trigger, so every writer of new inbox rows (the API's group commit, ``receive``) notifies
without code of its own, once per transaction (PostgreSQL folds identical notifications of one transaction and
delivers them at commit). SQLite has no LISTEN: its workers keep polling, and nothing is created there.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

CHANNEL = "fieldrelay_inbox"  # engine/wake.py listens on it


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION fieldrelay_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER inbox_notify AFTER INSERT ON inbox"
        " FOR EACH STATEMENT EXECUTE FUNCTION fieldrelay_inbox_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS inbox_notify ON inbox")
    op.execute("DROP FUNCTION IF EXISTS fieldrelay_inbox_notify()")
