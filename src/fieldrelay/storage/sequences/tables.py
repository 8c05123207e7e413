"""Tables of the follow-up machinery: sequence enrollments, tasks for people, and the development mail outbox."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from fieldrelay.storage.tables import Id, _utc, metadata

# One customer on one sequence: which step comes next, and why they left. Unique per sequence and subject (a job,
# or the customer for sequences that are not about one job), so an event delivered twice cannot enrol twice.
enrollments = Table(
    "enrollments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("sequence", String(64), nullable=False),
    Column("subject_key", String(100), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("job_id", String(36)),
    # The moment step offsets count from (the trigger event's time, or the renewal date for renewal reminders).
    Column("anchor_at", _utc(), nullable=False),
    # active → completed | exited
    Column("status", String(16), nullable=False),
    Column("next_step", Integer, nullable=False),
    Column("last_step", String(64)),
    Column("last_step_at", _utc()),
    Column("exit_reason", Text),
    Column("context", JSON, nullable=False),
    Column("enrolled_at", _utc(), nullable=False),
    Column("updated_at", _utc(), nullable=False),
    UniqueConstraint("account_id", "sequence", "subject_key", name="uq_enrollments_subject"),
)
Index("ix_enrollments_customer_status", enrollments.c.customer_id, enrollments.c.status)

# Work for a person (a service-recovery call, a personal call about an offer, a first response to a lead).
tasks = Table(
    "tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("job_id", String(36)),
    Column("kind", String(64), nullable=False),
    Column("title", Text, nullable=False),
    # The role that owns it (owner, operations, dispatcher, office, sales, technician) and, once known, a person.
    Column("role", String(32), nullable=False),
    Column("assignee", String(100)),
    Column("due_at", _utc(), nullable=False),
    # open → done | cancelled
    Column("status", String(16), nullable=False),
    Column("source", String(100), nullable=False),
    # The deal a lead-handoff task is about; when it was escalated, and to whom (the owner's lead).
    Column("deal_id", String(36)),
    Column("escalated_at", _utc()),
    Column("escalated_to", String(100)),
    Column("created_at", _utc(), nullable=False),
    Column("closed_at", _utc()),
    # Who closed it by hand, with which outcome (service/tasks/outcomes.py) and what they noted.
    Column("closed_by", String(100)),
    Column("outcome", String(32)),
    Column("note", Text),
    UniqueConstraint("account_id", "source", name="uq_tasks_source"),
)
Index("ix_tasks_open", tasks.c.account_id, tasks.c.status, tasks.c.due_at)

# The development mail provider's side (connectors/devmail): what "went out", for the demo and tests.
dev_email_sent = Table(
    "dev_email_sent",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("idempotency_key", String(200), nullable=False, index=True),
    Column("provider_message_id", String(64), nullable=False),
    Column("to_address", String(254), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("sent_at", _utc(), nullable=False),
)
