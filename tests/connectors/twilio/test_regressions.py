"""Regressions found outside the Twilio connector while testing it, fixed where they live."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import customers, messages
from tests.api.support import deliver, drain
from tests.conftest import START
from tests.connectors.twilio.support import CUSTOMER_NUMBER, form_body, params, twilio_headers
from tests.helpers import job_envelope


def test_a_late_queued_after_sent_does_not_roll_the_message_back(client: TestClient, twilio_runtime: Runtime) -> None:
    deliver(client, job_envelope("job.created", "2026-11-02T13:00:00Z"), START)
    drain(twilio_runtime)
    with twilio_runtime.engine.begin() as conn:
        customer_id = conn.execute(select(customers.c.id)).scalar_one()
        SqlMirror(conn, "default", START).insert_message(
            {
                "customer_id": customer_id,
                "channel": "sms",
                "purpose": "review_request",
                "to_address": CUSTOMER_NUMBER,
                "body": "hi",
                "status": "sending",
                "scheduled_for": START,
                "provider_message_id": "SM" + "21" * 16,
            }
        )
    clock = twilio_runtime.clock
    assert isinstance(clock, SimulatedClock)
    for name in ("status.sent", "status.queued"):  # Twilio's "queued" callback arrives after its "sent"
        clock.advance(5)
        values = params(name)
        url = "http://testserver/webhooks/twilio"
        response = client.post("/webhooks/twilio", content=form_body(values), headers=twilio_headers(url, values))
        assert response.status_code == 202
        drain(twilio_runtime)
    with twilio_runtime.engine.connect() as conn:
        assert conn.execute(select(messages.c.status)).scalar_one() == "sent"
