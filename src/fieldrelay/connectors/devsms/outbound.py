"""DevSms: an SMS provider for development and the demo that records each text as delivered.

It stands in for the provider's side, so what it "sent" is kept by a ``DevSink`` (storage's tables) in a transaction
of its own, as a real provider call would be outside ours: a crash between its "send" and our bookkeeping is
reconciled through ``lookup``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fieldrelay.service.clock import Clock
from fieldrelay.service.outreach.ports import DevSink
from fieldrelay.service.ports import SendResult, SmsRequest

NAME = "devsms"


class DevSmsSender:
    """Keeps texts in the development sink and reports them delivered."""

    name = NAME

    def __init__(self, sink: DevSink, clock: Clock) -> None:
        self._sink = sink
        self._clock = clock

    def send(self, request: SmsRequest) -> SendResult:
        """Record the text; it counts as delivered at once."""
        result = SendResult(provider_message_id=f"DEV{uuid.uuid4().hex[:30]}", status="delivered", at=self._clock.now())
        self._sink.record_sms(request, result.provider_message_id, result.at)
        return result

    def lookup(self, request: SmsRequest, since: datetime) -> SendResult | None:
        """The text recorded under this request's key, if any (this provider keeps the key, so ``since`` is moot)."""
        found = self._sink.find_sms(request)
        if found is None:
            return None
        provider_message_id, at = found
        return SendResult(provider_message_id=provider_message_id, status="delivered", at=at)
