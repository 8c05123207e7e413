"""DevSms: an SMS provider for development and the demo that records each text as delivered in the database.

It stands in for the provider's side, so it writes in its own transaction, as a real provider call would
be outside ours: a crash between its "send" and our bookkeeping is reconciled through ``lookup``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Engine, insert, select

from fieldrelay.service.clock import Clock
from fieldrelay.service.ports import SendResult, SmsRequest
from fieldrelay.storage.tables import dev_sms_sent

NAME = "devsms"


class DevSmsSender:
    """Records texts in ``dev_sms_sent`` and reports them delivered."""

    name = NAME

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def send(self, request: SmsRequest) -> SendResult:
        """Record the text; it counts as delivered at once."""
        result = SendResult(provider_message_id=f"DEV{uuid.uuid4().hex[:30]}", status="delivered", at=self._clock.now())
        with self._engine.begin() as conn:
            conn.execute(
                insert(dev_sms_sent).values(
                    account_id=request.account_id,
                    idempotency_key=request.idempotency_key,
                    provider_message_id=result.provider_message_id,
                    to_address=request.to,
                    body=request.body,
                    sent_at=result.at,
                )
            )
        return result

    def lookup(self, request: SmsRequest, since: datetime) -> SendResult | None:
        """The text recorded under this request's key, if any (this provider keeps the key, so ``since`` is moot)."""
        s = dev_sms_sent.c
        with self._engine.connect() as conn:
            row = conn.execute(
                select(s.provider_message_id, s.sent_at)
                .where(s.account_id == request.account_id, s.idempotency_key == request.idempotency_key)
                .order_by(s.id)
                .limit(1)
            ).first()
        if row is None:
            return None
        return SendResult(provider_message_id=row.provider_message_id, status="delivered", at=row.sent_at)
