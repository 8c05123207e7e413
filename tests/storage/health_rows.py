"""Rows the Health page reads, written straight to the database: waiting inbox, timer and outbox rows, webhooks
applied and deliveries sent at given moments, and a CRM target's held try (its circuit open)."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import Engine, insert

from fieldrelay.storage.tables import delivery_attempts, inbox, outbox, timers
from tests.storage.error_rows import ACCOUNT, new_id

_keys = itertools.count(1)


def add_webhook(
    engine: Engine, received_at: datetime, connector: str = "housecallpro", processed_at: datetime | None = None
) -> None:
    """A stored webhook: waiting when ``processed_at`` is None, else applied then."""
    with engine.begin() as conn:
        conn.execute(
            insert(inbox).values(
                account_id=ACCOUNT,
                connector=connector,
                dedupe_key=f"h{next(_keys)}",
                event_type="job.completed",
                received_at=received_at,
                headers={},
                body=b"{}",
                status="done" if processed_at else "pending",
                attempts=0,
                next_attempt_at=received_at,
                processed_at=processed_at,
            )
        )


def add_due_timer(engine: Engine, due_at: datetime, kind: str = "sequence_step") -> None:
    """A timer waiting to fire since ``due_at``."""
    with engine.begin() as conn:
        conn.execute(
            insert(timers).values(
                account_id=ACCOUNT,
                key=f"t{next(_keys)}",
                kind=kind,
                due_at=due_at,
                payload={},
                status="pending",
                attempts=0,
                next_attempt_at=due_at,
                created_at=due_at,
            )
        )


def add_delivery(
    engine: Engine, created_at: datetime, target: str = "sms", sent_at: datetime | None = None, held: bool = False
) -> None:
    """An outbox row: waiting, or sent at ``sent_at``; ``held`` records a try held for the target's outage."""
    with engine.begin() as conn:
        row_id = new_id(
            conn,
            insert(outbox).values(
                account_id=ACCOUNT,
                idempotency_key=f"o{next(_keys)}",
                target=target,
                kind="upsert_contact" if target != "sms" else "send_sms",
                ordering_key="c",
                payload={},
                status="sent" if sent_at else "pending",
                attempts=0,
                next_attempt_at=created_at,
                created_at=created_at,
                sent_at=sent_at,
            ),
        )
        if held:
            conn.execute(
                insert(delivery_attempts).values(
                    account_id=ACCOUNT,
                    outbox_id=row_id,
                    attempt=1,
                    started_at=created_at,
                    duration_ms=30,
                    outcome="held",
                    status_code=503,
                    detail="down",
                )
            )
