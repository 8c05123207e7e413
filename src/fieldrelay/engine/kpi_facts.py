"""The worker's share of the Reports page: remaking the KPI facts of the customers whose rows changed (migration 0018's
triggers mark them in the changing transaction), a batch at a time, so a page reads kept facts rather than working
each changed customer's figures out again."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine

from fieldrelay.engine.log_throttle import OUTAGES
from fieldrelay.service.clock import Clock
from fieldrelay.storage.kpis import facts

log = structlog.get_logger("fieldrelay.worker")
EVERY = timedelta(seconds=10)  # between passes while the facts are current; a full batch goes on at once


class FactsKeeper:
    """Remakes one account's marked customers' KPI facts at most every ``EVERY`` (at once while a backlog remains)."""

    def __init__(self, engine: Engine, clock: Clock, account_id: str) -> None:
        self._engine = engine
        self._clock = clock
        self._account = account_id
        self._next: datetime | None = None

    def refresh(self) -> int:
        """Remake a batch of marked customers' facts when due; returns how many customers were remade."""
        now = self._clock.now()
        if self._next is not None and now < self._next:
            return 0
        try:
            with self._engine.begin() as conn:
                made = facts.refresh(conn, self._account, facts.REFRESH_BATCH)
        except Exception:  # a missed pass leaves the marks for the next; a page still reads exact figures meanwhile
            held_back = OUTAGES.allow("kpi_facts.refresh_failed")
            if held_back is not None:
                log.exception("kpi_facts.refresh_failed", held_back=held_back)
            made = 0
        self._next = None if made >= facts.REFRESH_BATCH else now + EVERY
        return made
