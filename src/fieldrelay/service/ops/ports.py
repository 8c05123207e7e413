"""What the daily operations digest reads: the error queue and the deliveries still waiting, per target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OpenError:
    """One item of the error queue, as a person reads it."""

    id: str  # "outbox-12": what `fieldrelay errors retry` takes
    kind: str  # inbox, timer, outbox
    source: str  # the connector, timer kind or outbox target
    summary: str
    error: str | None
    attempts: int
    at: datetime


@dataclass(frozen=True)
class WaitingTarget:
    """The undelivered rows of one outbox target (sms, email, hubspot …)."""

    target: str
    rows: int
    oldest_at: datetime


@dataclass(frozen=True)
class OpenWork:
    """Everything open: the error queue (oldest first, at most the asked number) and the waiting deliveries."""

    errors: list[OpenError]
    error_total: int
    waiting: list[WaitingTarget]


class OpsStore(Protocol):
    """Reads of the error queue and backlog inside the caller's transaction."""

    def open_work(self, limit: int) -> OpenWork:
        """The oldest ``limit`` open errors, how many there are in all, and the waiting rows per outbox target."""
        ...
