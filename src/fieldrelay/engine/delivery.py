"""Delivering one claimed outbox row: consent re-checked, lease renewed, provider asked before any resend."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, insert, select, update

from fieldrelay.engine import metrics
from fieldrelay.engine.claim import Claimed, LeaseLost, finish, renew
from fieldrelay.engine.clock import Clock
from fieldrelay.service.ports import SendFailed, SmsRequest, SmsSender
from fieldrelay.storage.tables import activities, consents, customers, delivery_attempts, messages, outbox

log = structlog.get_logger("fieldrelay.worker")


class OutboxDelivery:
    """Delivers claimed outbox rows for one worker."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        sms: SmsSender,
        worker_id: str,
        lease: timedelta,
        retry_or_dead: Callable[[int], dict[str, Any]],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.sms = sms
        self.worker_id = worker_id
        self._lease = lease
        self._retry_or_dead = retry_or_dead

    def deliver(self, item: Claimed) -> None:
        """Send one claimed text, unless its recipient has opted out since it was queued; record the outcome."""
        row = item.row
        attempt = row.attempts + 1
        started = self.clock.now()
        t0 = time.perf_counter()
        request = SmsRequest(
            to=row.payload["to"],
            body=row.payload["body"],
            idempotency_key=row.idempotency_key,
            account_id=row.account_id,
        )
        # The batch was leased at claim time; rows ahead of this one may have taken long. Renew the lease right
        # before the provider call, and leave the row alone if another worker has already taken it over.
        if not renew(self.engine, outbox, row.id, self.worker_id, self.clock.now(), self._lease, "sending"):
            log.warning("outbox.lease_lost_before_send", outbox_id=row.id)
            return
        try:
            # Any try after the first may follow a send whose outcome we never learnt (a crash, a timeout, a
            # failed lookup): ask the provider before sending again, never resend blindly.
            result = self.sms.lookup(row.idempotency_key, row.account_id) if attempt > 1 else None
            reconciled = result is not None
            if result is None:
                # A STOP can arrive after the text was queued (or between retries): it wins over the queue.
                reason = self._opted_out(row.account_id, row.customer_id, request.to)
                if reason is not None:
                    self._withhold(row, reason)
                    return
                result = self.sms.send(request)
        except SendFailed as exc:
            self._failed(row, attempt, started, t0, str(exc), exc.status_code, exc.retryable)
            return
        except Exception as exc:
            self._failed(row, attempt, started, t0, f"{type(exc).__name__}: {exc}", None, True)
            return
        detail = (
            "reconciled: found already sent at the provider" if reconciled else f"sent as {result.provider_message_id}"
        )
        try:
            with self.engine.begin() as conn:
                finish(
                    conn,
                    outbox,
                    row.id,
                    self.worker_id,
                    in_flight="sending",
                    status="sent",
                    sent_at=result.at,
                )
                self._record_attempt(conn, row, attempt, started, t0, "sent", None, detail)
                if row.message_id:
                    conn.execute(
                        update(messages)
                        .where(messages.c.id == row.message_id)
                        .values(
                            status=result.status,
                            sent_at=result.at,
                            provider_message_id=result.provider_message_id,
                        )
                    )
                    purpose = conn.execute(select(messages.c.purpose).where(messages.c.id == row.message_id)).scalar()
                    conn.execute(
                        insert(activities).values(
                            account_id=row.account_id,
                            customer_id=row.customer_id,
                            at=result.at,
                            kind="message.sent",
                            summary=f"Text sent ({(purpose or 'message').replace('_', ' ')}) to {request.to}",
                            source=self.sms.name,
                            applied=True,
                            recorded_at=self.clock.now(),
                        )
                    )
            metrics.DELIVERIES.labels(row.target, "sent").inc()
        except LeaseLost:
            # Another worker took the row over; it will find this text at the provider and not resend it.
            log.warning("outbox.lease_lost", outbox_id=row.id)

    def _opted_out(self, account_id: str, customer_id: str | None, to: str) -> str | None:
        """Why this text must not go out now, or None."""
        k, c = consents.c, customers.c
        with self.engine.connect() as conn:
            stopped = conn.execute(
                select(k.reason).where(
                    k.account_id == account_id, k.channel == "sms", k.address == to, k.opted_out.is_(True)
                )
            ).first()
            flagged = (
                customer_id is not None
                and conn.execute(
                    select(c.sms_opted_out).where(c.id == customer_id, c.account_id == account_id)
                ).scalar()
            )
        if stopped is not None:
            return f"{to} opted out of texts ({stopped.reason or 'STOP'})"
        return "the customer opted out of texts" if flagged else None

    def _withhold(self, row: Any, reason: str) -> None:
        """Close the row without sending: the message is cancelled and the timeline says why."""
        log.info("outbox.withheld", outbox_id=row.id, reason=reason)
        try:
            with self.engine.begin() as conn:
                finish(conn, outbox, row.id, self.worker_id, in_flight="sending", status="cancelled", last_error=reason)
                if row.message_id:
                    conn.execute(update(messages).where(messages.c.id == row.message_id).values(status="cancelled"))
                if row.customer_id:
                    conn.execute(
                        insert(activities).values(
                            account_id=row.account_id,
                            customer_id=row.customer_id,
                            at=self.clock.now(),
                            kind="message.cancelled",
                            summary=f"Text not sent: {reason}",
                            source="fieldrelay",
                            applied=True,
                            recorded_at=self.clock.now(),
                        )
                    )
        except LeaseLost:
            log.warning("outbox.lease_lost", outbox_id=row.id)
            return
        metrics.DELIVERIES.labels(row.target, "cancelled").inc()

    def _failed(
        self,
        row: Any,
        attempt: int,
        started: datetime,
        t0: float,
        detail: str,
        code: int | None,
        retryable: bool,
    ) -> None:
        outcome = self._retry_or_dead(attempt) if retryable else {"status": "dead"}
        log.warning("outbox.delivery_failed", outbox_id=row.id, attempt=attempt, error=detail, **outcome)
        try:
            with self.engine.begin() as conn:
                finish(conn, outbox, row.id, self.worker_id, in_flight="sending", last_error=detail, **outcome)
                self._record_attempt(conn, row, attempt, started, t0, "failed", code, detail)
                if outcome["status"] == "dead" and row.message_id:
                    conn.execute(update(messages).where(messages.c.id == row.message_id).values(status="failed"))
        except LeaseLost:
            log.warning("outbox.lease_lost", outbox_id=row.id)
        metrics.DELIVERIES.labels(row.target, str(outcome["status"])).inc()

    def _record_attempt(
        self,
        conn: Any,
        row: Any,
        attempt: int,
        started: datetime,
        t0: float,
        outcome: str,
        code: int | None,
        detail: str,
    ) -> None:
        conn.execute(
            insert(delivery_attempts).values(
                account_id=row.account_id,
                outbox_id=row.id,
                attempt=attempt,
                started_at=started,
                duration_ms=int((time.perf_counter() - t0) * 1000),
                outcome=outcome,
                status_code=code,
                detail=detail[:2000],
            )
        )
