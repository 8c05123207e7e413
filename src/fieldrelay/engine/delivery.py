"""Delivering one claimed outbox row: consent re-checked, lease renewed, provider asked before any resend."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, insert, select, update

from fieldrelay.domain import events as ev
from fieldrelay.engine import metrics
from fieldrelay.engine.attempts import record_attempt
from fieldrelay.engine.claim import Claimed, LeaseLost, finish, renew
from fieldrelay.engine.delivery_requests import Outgoing, Undeliverable, outgoing
from fieldrelay.rules.config import Settings
from fieldrelay.service import bus
from fieldrelay.service.changes import TextSent
from fieldrelay.service.clock import Clock
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.outreach import texts
from fieldrelay.service.outreach.consent import withheld_reason
from fieldrelay.service.ports import EmailSender, SendFailed, SendResult, SmsSender
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import activities, messages, outbox

log = structlog.get_logger("fieldrelay.worker")

NO_UNSUBSCRIBE_LINK = (
    "no unsubscribe link (set public_base_url and FIELDRELAY_UNSUBSCRIBE_SECRET): "
    "marketing email is not sent without one"
)


class OutboxDelivery:
    """Delivers claimed outbox rows (texts and emails) for one worker."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        settings: Settings,
        sms: SmsSender,
        email: EmailSender,
        worker_id: str,
        lease: timedelta,
        retry_or_dead: Callable[[int], dict[str, Any]],
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self.sms = sms
        self.email = email
        self.worker_id = worker_id
        self._lease = lease
        self._retry_or_dead = retry_or_dead

    def deliver(self, item: Claimed) -> None:
        """Send one claimed message, unless its recipient has opted out since it was queued; record the outcome."""
        row = item.row
        attempt = row.attempts + 1
        started = self.clock.now()
        t0 = time.perf_counter()
        try:
            out = outgoing(row, self.sms, self.email)
        except Undeliverable as exc:
            log.error("outbox.undeliverable", outbox_id=row.id, kind=row.kind, error=str(exc))
            self._failed(row, attempt, started, t0, str(exc), None, retryable=False)
            return
        # The batch was leased at claim time; rows ahead of this one may have taken long. Renew the lease right
        # before the provider call, and leave the row alone if another worker has already taken it over.
        if not renew(self.engine, outbox, row.id, self.worker_id, self.clock.now(), self._lease, "sending"):
            log.warning("outbox.lease_lost_before_send", outbox_id=row.id)
            return
        try:
            # Any try after the first may follow a send whose outcome we never learnt (a crash, a timeout, a
            # failed lookup): ask the provider before sending again, never resend blindly.
            result = out.lookup(row.created_at) if attempt > 1 else None
            reconciled = result is not None
            if result is None:
                # A STOP or an unsubscribe can arrive after the message was queued (or between retries): it wins.
                reason = self._withheld_reason(row, out)
                if reason is not None:
                    self._withhold(row, out, reason)
                    return
                # Texts are planned inside text hours, but a retry's backoff or a backlog can carry one past 21:00.
                opening = self._next_text_hours(row, out)
                if opening is not None:
                    self._defer(row, opening)
                    return
                result = out.send()
        except SendFailed as exc:
            if exc.opted_out:
                self._refused_as_opted_out(row, out, attempt, started, t0, exc)
            else:
                self._failed(row, attempt, started, t0, str(exc), exc.status_code, exc.retryable)
            return
        except Exception as exc:
            self._failed(row, attempt, started, t0, f"{type(exc).__name__}: {exc}", None, True)
            return
        self._sent(row, out, attempt, started, t0, result, reconciled)

    def _withheld_reason(self, row: Any, out: Outgoing) -> str | None:
        """Why this message must not go out now (consent as the mirror holds it at this moment), or None."""
        # Marketing email must carry a working one-click unsubscribe (RFC 8058). A development sink delivers to a
        # table, never to a person: only real providers need the link.
        unlinked_marketing = out.channel == "email" and out.category == "marketing" and not out.unsubscribe_url
        if unlinked_marketing and not self.email.development_sink:
            return NO_UNSUBSCRIBE_LINK
        with self.engine.connect() as conn:
            store = SqlMirror(conn, row.account_id, self.clock.now())
            return withheld_reason(
                store,
                self.settings,
                customer_id=row.customer_id,
                channel=out.channel,
                category=out.category,
                address=out.consent_address,
            )

    def _next_text_hours(self, row: Any, out: Outgoing) -> datetime | None:
        """When a text may not go out now (outside the customer's text hours), the next moment it may; else None."""
        if out.channel != "sms" or not row.customer_id:
            return None
        now = self.clock.now()
        with self.engine.connect() as conn:
            ctx = HandlerContext(store=SqlMirror(conn, row.account_id, now), now=now, settings=self.settings)
            opening = texts.within_text_hours(ctx, row.customer_id, now)
        return opening if opening > now else None

    def _defer(self, row: Any, until: datetime) -> None:
        """Put the row back until ``until``; the claim's try is handed back, since nothing was attempted."""
        log.info("outbox.deferred_to_text_hours", outbox_id=row.id, until=until.isoformat())
        try:
            with self.engine.begin() as conn:
                finish(
                    conn,
                    outbox,
                    row.id,
                    self.worker_id,
                    in_flight="sending",
                    status="pending",
                    next_attempt_at=until,
                    attempts=row.attempts,
                )
                if row.message_id:
                    conn.execute(update(messages).where(messages.c.id == row.message_id).values(scheduled_for=until))
        except LeaseLost:
            log.warning("outbox.lease_lost", outbox_id=row.id)
            return
        metrics.DELIVERIES.labels(row.target, "deferred").inc()

    def _sent(
        self, row: Any, out: Outgoing, attempt: int, started: datetime, t0: float, result: SendResult, reconciled: bool
    ) -> None:
        """Close the row as sent, and bring the message and the customer's timeline up to date."""
        detail = (
            "reconciled: found already sent at the provider" if reconciled else f"sent as {result.provider_message_id}"
        )
        try:
            with self.engine.begin() as conn:
                finish(conn, outbox, row.id, self.worker_id, in_flight="sending", status="sent", sent_at=result.at)
                record_attempt(conn, row, attempt, started, t0, "sent", None, detail)
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
                    if row.customer_id:
                        label = (purpose or "message").replace("_", " ")
                        summary = f"{out.noun} sent ({label}) to {out.to}"
                        self._timeline(conn, row, result.at, "message.sent", summary, out.provider)
                        if row.target == texts.SMS_TARGET:
                            # The bus says what a sent text sets off (while an estimate awaits an answer: a follow-up).
                            now = self.clock.now()
                            ctx = HandlerContext(SqlMirror(conn, row.account_id, now), now, self.settings)
                            bus.publish(ctx, TextSent(row.customer_id, result.at, purpose=purpose or "message"))
            metrics.DELIVERIES.labels(row.target, "sent").inc()
        except LeaseLost:
            # Another worker took the row over; it will find this message at the provider and not resend it.
            log.warning("outbox.lease_lost", outbox_id=row.id)

    def _withhold(self, row: Any, out: Outgoing, reason: str) -> None:
        """Close the row without sending: the message is cancelled and the timeline says why."""
        log.info("outbox.withheld", outbox_id=row.id, reason=reason)
        try:
            with self.engine.begin() as conn:
                finish(conn, outbox, row.id, self.worker_id, in_flight="sending", status="cancelled", last_error=reason)
                if row.message_id:
                    conn.execute(update(messages).where(messages.c.id == row.message_id).values(status="cancelled"))
                if row.customer_id:
                    summary = f"{out.noun} not sent: {reason}"
                    self._timeline(conn, row, self.clock.now(), "message.cancelled", summary, "fieldrelay")
        except LeaseLost:
            log.warning("outbox.lease_lost", outbox_id=row.id)
            return
        metrics.DELIVERIES.labels(row.target, "cancelled").inc()

    def _refused_as_opted_out(
        self, row: Any, out: Outgoing, attempt: int, started: datetime, t0: float, exc: SendFailed
    ) -> None:
        """The provider refused because the recipient opted out with it (replied STOP to this sender). Record the
        opt-out with the failure, so nothing else is queued or sent to them; the row is dead, since no retry can get
        through."""
        now = self.clock.now()
        reason = exc.reason or str(exc)  # the connector's words, e.g. which of its error codes said so
        detail = f"{exc} ({reason}: the recipient has opted out)"
        log.warning("outbox.recipient_opted_out", outbox_id=row.id, attempt=attempt, error=detail)
        # The same event the provider's own opt-out callback yields, through the same handler: consent recorded for
        # the address, its customers flagged with the opt-out on their timelines, their marketing sequences ended.
        opted_out = ev.OptedOut(
            source=out.provider,
            occurred_at=now,
            customer=None,
            channel=out.channel,
            address=out.consent_address,
            reason=reason,
        )
        try:
            with self.engine.begin() as conn:
                finish(conn, outbox, row.id, self.worker_id, in_flight="sending", status="dead", last_error=detail)
                record_attempt(conn, row, attempt, started, t0, "failed", exc.status_code, detail)
                if row.message_id:
                    conn.execute(
                        update(messages)
                        .where(messages.c.id == row.message_id)
                        .values(status="failed", error_code=exc.error_code, status_at=now)
                    )
                ctx = HandlerContext(store=SqlMirror(conn, row.account_id, now), now=now, settings=self.settings)
                bus.apply(ctx, opted_out)
        except LeaseLost:
            # The transaction was rolled back; the worker that took the row over meets the same refusal.
            log.warning("outbox.lease_lost", outbox_id=row.id)
            return
        except Exception as failure:
            # The opt-out could not be recorded (an unreadable number, say): the row must still end, and dead.
            log.exception("outbox.opt_out_not_recorded", outbox_id=row.id)
            unrecorded = f"{detail}; opt-out not recorded: {failure}"
            self._failed(row, attempt, started, t0, unrecorded, exc.status_code, retryable=False)
            return
        metrics.DELIVERIES.labels(row.target, "dead").inc()

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
                record_attempt(conn, row, attempt, started, t0, "failed", code, detail)
                if outcome["status"] == "dead" and row.message_id:
                    conn.execute(update(messages).where(messages.c.id == row.message_id).values(status="failed"))
        except LeaseLost:
            log.warning("outbox.lease_lost", outbox_id=row.id)
        metrics.DELIVERIES.labels(row.target, str(outcome["status"])).inc()

    def _timeline(self, conn: Connection, row: Any, at: datetime, kind: str, summary: str, source: str) -> None:
        conn.execute(
            insert(activities).values(
                account_id=row.account_id,
                customer_id=row.customer_id,
                at=at,
                kind=kind,
                summary=summary,
                source=source,
                applied=True,
                recorded_at=self.clock.now(),
            )
        )
