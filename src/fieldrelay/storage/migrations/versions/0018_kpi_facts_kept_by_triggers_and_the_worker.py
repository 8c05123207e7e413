"""the Reports KPIs' facts: one row per lead, completed job, paid job and sent estimate, a mark per changed customer
written by triggers in the changing transaction, and every existing customer marked (the worker makes their facts);
open estimates by stage; ix_timers_account_status dropped (the leading part of 0015's ix_timers_account_status_due)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The tables a fact is made from, and the column naming the customer in each.
_SOURCES = (
    ("customers", "id"),
    ("deals", "customer_id"),
    ("service_history", "customer_id"),
    ("jobs", "customer_id"),
    ("messages", "customer_id"),
    ("activities", "customer_id"),
)
_EVENTS = ("INSERT", "UPDATE", "DELETE")

# PostgreSQL: one function for every source table (the customer column named by the trigger's argument). A message
# about a job also marks the job's customer: whether the job's review ask was clicked is part of that job's fact.
_PG_FUNCTION = """
CREATE FUNCTION kpi_mark_dirty() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed jsonb;
BEGIN
    FOREACH changed IN ARRAY (
        CASE TG_OP
            WHEN 'INSERT' THEN ARRAY[to_jsonb(NEW)]
            WHEN 'DELETE' THEN ARRAY[to_jsonb(OLD)]
            ELSE ARRAY[to_jsonb(NEW), to_jsonb(OLD)]
        END
    ) LOOP
        INSERT INTO kpi_dirty (account_id, customer_id) VALUES (changed->>'account_id', changed->>TG_ARGV[0]);
        IF TG_TABLE_NAME = 'messages' AND changed->>'job_id' IS NOT NULL THEN
            INSERT INTO kpi_dirty (account_id, customer_id)
                SELECT account_id, customer_id FROM jobs WHERE id = changed->>'job_id';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$
"""


def _sqlite_trigger(table: str, column: str, event: str) -> str:
    rows = {"INSERT": ("NEW",), "DELETE": ("OLD",), "UPDATE": ("NEW", "OLD")}[event]
    body = []
    for row in rows:
        body.append(f"INSERT INTO kpi_dirty (account_id, customer_id) VALUES ({row}.account_id, {row}.{column});")
        if table == "messages":
            body.append(
                "INSERT INTO kpi_dirty (account_id, customer_id) "
                f"SELECT account_id, customer_id FROM jobs WHERE id = {row}.job_id;"
            )
    return (
        f"CREATE TRIGGER kpi_dirty_{table}_{event.lower()} AFTER {event} ON {table} FOR EACH ROW BEGIN "
        + " ".join(body)
        + " END"
    )


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "kpi_facts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("hit", sa.Integer(), nullable=True),
        sa.Column("grp", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", "kind", "subject_id", name=op.f("pk_kpi_facts")),
    )
    op.create_index(
        "ix_kpi_facts_read", "kpi_facts", ["account_id", "kind", "at", "seconds", "hit", "grp", "customer_id"]
    )
    op.create_index("ix_kpi_facts_customer", "kpi_facts", ["account_id", "customer_id"])
    op.create_table(
        "kpi_dirty",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_dirty")),
    )
    op.create_index("ix_kpi_dirty_customer", "kpi_dirty", ["account_id", "customer_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table, column in _SOURCES:
            op.execute(
                f"CREATE TRIGGER kpi_dirty_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION kpi_mark_dirty('{column}')"
            )
    else:
        for table, column in _SOURCES:
            for event in _EVENTS:
                op.execute(_sqlite_trigger(table, column, event))
    # The backfill: every customer marked, so the worker makes their facts in batches (and until it has, a read works
    # the marked customers' figures out from the rows, as before this migration).
    op.execute("INSERT INTO kpi_dirty (account_id, customer_id) SELECT account_id, id FROM customers")
    op.create_index("ix_deals_open_stage", "deals", ["account_id", "is_open", "stage", "stage_at", "owner"])
    # ix_timers_account_status (0012) is the leading part of ix_timers_account_status_due (0015).
    op.drop_index("ix_timers_account_status", table_name="timers")


def downgrade() -> None:
    """Revert this migration."""
    op.create_index("ix_timers_account_status", "timers", ["account_id", "status"])
    op.drop_index("ix_deals_open_stage", table_name="deals")
    if op.get_bind().dialect.name == "postgresql":
        for table, _ in _SOURCES:
            op.execute(f"DROP TRIGGER kpi_dirty_{table} ON {table}")
        op.execute("DROP FUNCTION kpi_mark_dirty()")
    else:
        for table, _ in _SOURCES:
            for event in _EVENTS:
                op.execute(f"DROP TRIGGER kpi_dirty_{table}_{event.lower()}")
    op.drop_index("ix_kpi_dirty_customer", table_name="kpi_dirty")
    op.drop_table("kpi_dirty")
    op.drop_index("ix_kpi_facts_customer", table_name="kpi_facts")
    op.drop_index("ix_kpi_facts_read", table_name="kpi_facts")
    op.drop_table("kpi_facts")
