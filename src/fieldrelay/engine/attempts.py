"""The record of one delivery attempt: every try at every target, whatever it delivers, lands in one table."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from fieldrelay.storage.tables import delivery_attempts

_MAX_DETAIL = 2000  # characters of a request summary or response excerpt kept per attempt


def record_attempt(
    conn: Connection,
    row: Any,
    attempt: int,
    started: datetime,
    t0: float,
    outcome: str,
    code: int | None,
    detail: str,
) -> None:
    """Insert the attempt on outbox ``row``: when it started, how long it took (from ``perf_counter`` ``t0``), what
    came back."""
    conn.execute(
        insert(delivery_attempts).values(
            account_id=row.account_id,
            outbox_id=row.id,
            attempt=attempt,
            started_at=started,
            duration_ms=int((time.perf_counter() - t0) * 1000),
            outcome=outcome,
            status_code=code,
            detail=detail[:_MAX_DETAIL],
        )
    )
