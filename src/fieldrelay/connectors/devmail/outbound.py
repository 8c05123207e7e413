"""DevMail: an email provider for development and the demo that records each email as delivered in the database.

Like ``connectors/devsms`` it stands in for the provider's side, so it writes in its own transaction, as a real
provider call would be outside ours: a crash between its "send" and our bookkeeping is reconciled through ``lookup``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Engine, insert, select

from fieldrelay.service.clock import Clock
from fieldrelay.service.ports import EmailRequest, SendResult
from fieldrelay.storage.sequences.tables import dev_email_sent

NAME = "devmail"

# dev_email_sent.subject is String(200): PostgreSQL refuses a longer value, and a demo email must not fail for it.
_SUBJECT_MAX = 200


class DevMailSender:
    """Records emails in ``dev_email_sent`` and reports them delivered."""

    name = NAME

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    def send(self, request: EmailRequest) -> SendResult:
        """Record the email; it counts as delivered at once."""
        result = SendResult(provider_message_id=f"DEVMAIL{uuid.uuid4().hex}", status="delivered", at=self._clock.now())
        with self._engine.begin() as conn:
            conn.execute(
                insert(dev_email_sent).values(
                    account_id=request.account_id,
                    idempotency_key=request.idempotency_key,
                    provider_message_id=result.provider_message_id,
                    to_address=request.to,
                    subject=request.subject[:_SUBJECT_MAX],
                    body=request.body,
                    sent_at=result.at,
                )
            )
        return result

    def lookup(self, request: EmailRequest, since: datetime) -> SendResult | None:
        """The email recorded under this request's key, if any (this provider keeps the key, so ``since`` is moot)."""
        s = dev_email_sent.c
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
