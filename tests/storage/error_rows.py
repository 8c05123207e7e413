"""Rows in the error queue written straight to the database: one per kind, and attempts of an outbox row."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Insert, insert

from fieldrelay.storage.tables import customers, delivery_attempts, inbox, messages, outbox, timers

ACCOUNT = "default"


def new_id(conn: Connection, statement: Insert) -> Any:
    """Run an insert of one row and return the primary key the database gave it."""
    key = conn.execute(statement).inserted_primary_key
    assert key is not None
    return key[0]


def add_inbox_error(engine: Engine, at: datetime, connector: str = "housecallpro", status: str = "error") -> str:
    """An inbox row that needs a person; returns its error id."""
    with engine.begin() as conn:
        row_id = new_id(
            conn,
            insert(inbox).values(
                account_id=ACCOUNT,
                connector=connector,
                dedupe_key=f"d-{at.timestamp()}-{connector}",
                event_type="job.created",
                received_at=at,
                headers={},
                body=b"{}",
                status=status,
                attempts=1,
                next_attempt_at=at,
                last_error="job names no customer",
            ),
        )
    return f"inbox-{row_id}"


def add_dead_timer(engine: Engine, at: datetime, kind: str = "review_request") -> str:
    """A timer whose retries are spent; returns its error id."""
    with engine.begin() as conn:
        row_id = new_id(
            conn,
            insert(timers).values(
                account_id=ACCOUNT,
                key=f"{kind}:{at.timestamp()}",
                kind=kind,
                due_at=at,
                payload={},
                status="dead",
                attempts=3,
                next_attempt_at=at,
                last_error="handler blew up",
                created_at=at,
            ),
        )
    return f"timer-{row_id}"


def add_dead_outbox(engine: Engine, at: datetime, target: str = "sms", attempts: int = 2) -> tuple[str, str]:
    """A dead outbox row with its message and ``attempts`` failed delivery attempts; returns (error id, message id)."""
    message_id = f"m-{at.timestamp()}-{target}"
    with engine.begin() as conn:
        conn.execute(
            insert(customers).values(
                id=f"c-{message_id}", account_id=ACCOUNT, lifecycle_stage="customer", created_at=at, updated_at=at
            )
        )
        conn.execute(
            insert(messages).values(
                id=message_id,
                account_id=ACCOUNT,
                customer_id=f"c-{message_id}",
                channel="sms",
                purpose="review_request",
                to_address="+15125550142",
                body="Thanks!",
                status="failed",
                scheduled_for=at,
                created_at=at,
            )
        )
        row_id = new_id(
            conn,
            insert(outbox).values(
                account_id=ACCOUNT,
                idempotency_key=f"k-{message_id}",
                target=target,
                kind="send_sms",
                ordering_key="c",
                message_id=message_id,
                payload={},
                status="dead",
                attempts=attempts,
                next_attempt_at=at,
                last_error="not a mobile number",
                created_at=at,
            ),
        )
        for n in range(1, attempts + 1):
            conn.execute(
                insert(delivery_attempts).values(
                    account_id=ACCOUNT,
                    outbox_id=row_id,
                    attempt=n,
                    started_at=at + timedelta(minutes=n),
                    duration_ms=40 * n,
                    outcome="failed",
                    status_code=400 if n == attempts else None,
                    detail=f"try {n}",
                )
            )
    return f"outbox-{row_id}", message_id
