"""Keeping and reading the stale-record check's outcomes (storage/kpis/tables.py ``stale_checks``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from fieldrelay.storage.kpis.tables import stale_checks


@dataclass(frozen=True)
class StaleCheck:
    """One check: when, how many records had field events, how many of them were stale."""

    checked_at: datetime
    records: int
    stale: int
    stale_after_minutes: float

    @property
    def rate(self) -> float:
        """Stale records as a share of records with field events (0 when there are none), as the report gives it."""
        return self.stale / self.records if self.records else 0.0


def record_check(conn: Connection, account_id: str, check: StaleCheck) -> None:
    """Keep one check's outcome."""
    conn.execute(
        insert(stale_checks).values(
            account_id=account_id,
            checked_at=check.checked_at,
            records=check.records,
            stale=check.stale,
            stale_after_minutes=check.stale_after_minutes,
        )
    )


def checks_between(conn: Connection, account_id: str, since: datetime, until: datetime) -> list[StaleCheck]:
    """The checks made in the span, oldest first."""
    s = stale_checks.c
    query = (
        select(s.checked_at, s.records, s.stale, s.stale_after_minutes)
        .where(s.account_id == account_id, s.checked_at >= since, s.checked_at <= until)
        .order_by(s.checked_at, s.id)
    )
    return [StaleCheck(r.checked_at, r.records, r.stale, r.stale_after_minutes) for r in conn.execute(query)]
