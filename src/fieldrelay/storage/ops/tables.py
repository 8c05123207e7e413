"""What the worker keeps for the Health page: a sample of each queue's backlog a minute, and each outside CRM's circuit
as its breaker last changed it."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, PrimaryKeyConstraint, String, Table

from fieldrelay.storage.tables import _utc, metadata, timers

# One row per account, minute, queue and connector / timer kind / target that had rows waiting, plus a row per queue
# with target "*" (the queue's total) every sampled minute, so a minute with nothing waiting reads as zero and a
# minute no worker sampled reads as a gap. ``minute`` counts minutes since the epoch: the key several workers race on
# (the first insert of a minute wins) and what a window is bucketed by in SQL on either database.
health_samples = Table(
    "health_samples",
    metadata,
    Column("account_id", String(64), nullable=False),
    Column("minute", Integer, nullable=False),
    Column("queue", String(16), nullable=False),
    Column("target", String(100), nullable=False),
    Column("waiting", Integer, nullable=False),
    Column("oldest_seconds", Float, nullable=False),
    PrimaryKeyConstraint("account_id", "minute", "queue", "target"),
)

# The breaker lives in a worker's memory; each change of its state (open, half-open, closed) is written here as it
# happens, one row per account and target (the latest change by any worker wins).
circuit_states = Table(
    "circuit_states",
    metadata,
    Column("account_id", String(64), nullable=False),
    Column("target", String(100), nullable=False),
    Column("state", String(16), nullable=False),  # open, half_open, closed
    Column("since", _utc(), nullable=False),
    Column("next_probe_at", _utc()),  # while open: when the breaker lets the probe through
    Column("worker_id", String(64), nullable=False),
    PrimaryKeyConstraint("account_id", "target"),
)

# The timers already due among the waiting ones: by (account_id, status) alone a sampler reads every planned step of
# every sequence (tens of thousands in a busy shop) to find the few due.
Index("ix_timers_account_status_due", timers.c.account_id, timers.c.status, timers.c.due_at)
