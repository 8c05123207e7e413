"""Bounds on the server and the database: how many connections, how long a slow client or statement may take."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServerLimits(BaseModel):
    """What `fieldrelay serve` lets one client hold (docs/production.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Connections and requests served at once; beyond it new ones get 503 at once instead of queuing.
    limit_concurrency: int = Field(default=1000, ge=1)
    # A connection must send a request's headers this long after it opens (or after its last response).
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # A request's body must arrive within this long; else 408.
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    # An idle keep-alive connection is closed after this long.
    keep_alive_seconds: float = Field(default=5.0, gt=0)


class DatabaseTimeouts(BaseModel):
    """How long one statement may run and wait for a lock, on both databases (docs/production.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # PostgreSQL statement_timeout: a statement running longer is cancelled.
    statement_seconds: float = Field(default=30.0, gt=0)
    # PostgreSQL lock_timeout: a statement waiting longer for a row or table lock fails (and is retried).
    lock_seconds: float = Field(default=5.0, gt=0)
    # SQLite busy timeout: how long a transaction waits for the database's single write lock.
    sqlite_busy_seconds: float = Field(default=10.0, gt=0)
