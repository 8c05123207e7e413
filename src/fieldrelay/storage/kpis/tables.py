"""The stale-record check's history (one row per check, for the trend) and the indexes the Reports and Health pages
read by."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from fieldrelay.storage.sequences.tables import enrollments
from fieldrelay.storage.tables import (
    Id,
    _utc,
    activities,
    deals,
    delivery_attempts,
    inbox,
    jobs,
    messages,
    metadata,
    outbox,
    service_history,
)

# The stale-record check re-reads every stored delivery, far too slow for a page at 500,000 events: each check that
# runs (`fieldrelay report`, the Reports page's "Check now") keeps its outcome here, and the page draws these rows.
stale_checks = Table(
    "stale_checks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("checked_at", _utc(), nullable=False),
    Column("records", Integer, nullable=False),
    Column("stale", Integer, nullable=False),
    Column("stale_after_minutes", Float, nullable=False),
)
Index("ix_stale_checks_time", stale_checks.c.account_id, stale_checks.c.checked_at)

# What the KPI samples select by: a span of lead, completion, payment, activity and send times.
# Covering where a page reads tens of thousands of rows: the read never visits the table (SQLite's row lookups cost
# most of a 90-day page otherwise). JSON columns stay out: PostgreSQL's json has no btree operator class.
Index("ix_deals_lead_response", deals.c.account_id, deals.c.lead_at, deals.c.first_response_at, deals.c.customer_id)
# Open estimates older than a week by owner: without it every deal of the account is visited (a quarter of a page).
Index("ix_deals_open_stage", deals.c.account_id, deals.c.is_open, deals.c.stage, deals.c.stage_at, deals.c.owner)
Index("ix_service_history_completed_at", service_history.c.account_id, service_history.c.completed_at)
Index("ix_jobs_paid_at", jobs.c.account_id, jobs.c.paid_at)
Index(
    "ix_activities_kind_at_customer",
    activities.c.account_id,
    activities.c.kind,
    activities.c.at,
    activities.c.applied,
    activities.c.customer_id,
)
Index("ix_messages_customer_sent", messages.c.customer_id, messages.c.sent_at)
Index("ix_messages_job_purpose_clicked", messages.c.job_id, messages.c.purpose, messages.c.clicked_at)
# A sequence step's messages by enrolment, with what the Sequences page counts of them.
Index(
    "ix_messages_enrollment_funnel",
    messages.c.enrollment_id,
    messages.c.purpose,
    messages.c.sent_at,
    messages.c.status,
    messages.c.opened_at,
    messages.c.clicked_at,
)
# What the Health page counts minute by minute, and each target's latest delivery attempt.
Index("ix_inbox_received_at", inbox.c.account_id, inbox.c.received_at)
Index("ix_inbox_processed_at", inbox.c.account_id, inbox.c.processed_at)
Index("ix_outbox_sent_at", outbox.c.account_id, outbox.c.sent_at)
Index("ix_delivery_attempts_started_at", delivery_attempts.c.account_id, delivery_attempts.c.started_at)
# The backlog and the error queue by status: without these a planner walks every row of the account (the timers'
# is ix_timers_account_status_due, storage/ops/tables.py).
Index("ix_inbox_account_status", inbox.c.account_id, inbox.c.status)
Index("ix_outbox_account_status", outbox.c.account_id, outbox.c.status)
# Review asks by when they were due, and enrolments by when they began (Reviews and Sequences pages).
# The Reviews page's counts read here alone, not the messages' rows (their bodies make those the costliest to visit).
Index(
    "ix_messages_scheduled_review",
    messages.c.account_id,
    messages.c.scheduled_for,
    messages.c.purpose,
    messages.c.channel,
    messages.c.review_platform,
    messages.c.status,
    messages.c.sent_at,
    messages.c.clicked_at,
    messages.c.trigger_at,
    messages.c.job_id,
)
Index(
    "ix_enrollments_enrolled_funnel",
    enrollments.c.account_id,
    enrollments.c.enrolled_at,
    enrollments.c.sequence,
    enrollments.c.status,
    enrollments.c.exit_reason,
    enrollments.c.last_step,
    enrollments.c.id,
    enrollments.c.customer_id,
    enrollments.c.job_id,
    enrollments.c.updated_at,
)

# One row per thing a Reports KPI counts (a lead, a completed job, a paid job, a sent estimate) with its figure worked
# out: reading the window's rows here replaces a probe per lead or job into other tables (a 90-day page's cost).
# Database triggers (migration 0018) mark a customer in kpi_dirty whenever a row the facts are made from changes, in
# the same transaction; the worker remakes the marked customers' facts (storage/kpis/facts.py), and until it has, a
# read works those customers' figures out from the rows themselves, so a page never shows a stale figure.
kpi_facts = Table(
    "kpi_facts",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),  # lead, completion, paid, estimate
    Column("subject_id", String(36), primary_key=True),  # the deal, service record, job or activity counted
    Column("customer_id", String(36), nullable=False),
    Column("at", _utc(), nullable=False),  # when it counts: the lead, the completion, the payment, the estimate sent
    Column("seconds", Float),  # to the first response (lead) or the first touch (completion); None: not yet
    Column("hit", Integer),  # 1/0: a review ask clicked (paid), followed up within 48 h (estimate)
    Column("grp", Text),  # the lead source (lead), the crew as JSON text (completion, paid)
)
Index(
    "ix_kpi_facts_read",
    kpi_facts.c.account_id,
    kpi_facts.c.kind,
    kpi_facts.c.at,
    kpi_facts.c.seconds,
    kpi_facts.c.hit,
    kpi_facts.c.grp,
    kpi_facts.c.customer_id,
)
Index("ix_kpi_facts_customer", kpi_facts.c.account_id, kpi_facts.c.customer_id)
kpi_dirty = Table(
    "kpi_dirty",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(64), nullable=False),
    Column("customer_id", String(36), nullable=False),
)
Index("ix_kpi_dirty_customer", kpi_dirty.c.account_id, kpi_dirty.c.customer_id)
