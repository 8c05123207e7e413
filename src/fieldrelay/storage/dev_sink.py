"""The development providers' side: the texts and emails devsms and devmail "sent", kept in tables of their own.

Each call runs in its own transaction, as a real provider's call is outside ours (see service.outreach.ports.DevSink).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, Table, insert, select

from fieldrelay.service.outreach.ports import EmailRequest, SmsRequest
from fieldrelay.storage.sequences.tables import dev_email_sent
from fieldrelay.storage.tables import dev_sms_sent

# dev_email_sent.subject is String(200): PostgreSQL refuses a longer value, and a demo email must not fail for it.
_SUBJECT_MAX = 200


class SqlDevSink:
    """Keeps development texts in ``dev_sms_sent`` and emails in ``dev_email_sent``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record_sms(self, request: SmsRequest, provider_message_id: str, at: datetime) -> None:
        """Keep one text as sent at ``at`` under its provider id."""
        with self._engine.begin() as conn:
            conn.execute(
                insert(dev_sms_sent).values(
                    account_id=request.account_id,
                    idempotency_key=request.idempotency_key,
                    provider_message_id=provider_message_id,
                    to_address=request.to,
                    body=request.body,
                    sent_at=at,
                )
            )

    def find_sms(self, request: SmsRequest) -> tuple[str, datetime] | None:
        """Provider id and time of the first text kept under the request's account and idempotency key, or None."""
        return self._first(dev_sms_sent, request.account_id, request.idempotency_key)

    def record_email(self, request: EmailRequest, provider_message_id: str, at: datetime) -> None:
        """Keep one email as sent at ``at`` under its provider id (the subject cut to the column's width)."""
        with self._engine.begin() as conn:
            conn.execute(
                insert(dev_email_sent).values(
                    account_id=request.account_id,
                    idempotency_key=request.idempotency_key,
                    provider_message_id=provider_message_id,
                    to_address=request.to,
                    subject=request.subject[:_SUBJECT_MAX],
                    body=request.body,
                    sent_at=at,
                )
            )

    def find_email(self, request: EmailRequest) -> tuple[str, datetime] | None:
        """Provider id and time of the first email kept under the request's account and idempotency key, or None."""
        return self._first(dev_email_sent, request.account_id, request.idempotency_key)

    def _first(self, table: Table, account_id: str, idempotency_key: str) -> tuple[str, datetime] | None:
        # No unique key on these tables (a provider does not refuse a resend): the earliest row is the answer.
        s = table.c
        with self._engine.connect() as conn:
            row = conn.execute(
                select(s.provider_message_id, s.sent_at)
                .where(s.account_id == account_id, s.idempotency_key == idempotency_key)
                .order_by(s.id)
                .limit(1)
            ).first()
        return None if row is None else (row.provider_message_id, row.sent_at)
