"""Helpers for tests: signed Housecall Pro requests and envelope builders."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, insert

from fieldrelay.connectors.housecallpro.signature import compute_signature
from fieldrelay.service.ports import WebhookRequest
from fieldrelay.storage.tables import customer_emails, customers, messages
from tests.conftest import HCP_SECRET, START


def signed(body: dict[str, Any] | bytes, at: datetime, secret: str = HCP_SECRET) -> tuple[bytes, dict[str, str]]:
    """Raw body and headers of a Housecall Pro delivery signed at ``at``."""
    raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
    timestamp = str(int(at.timestamp()))
    return raw, {
        "Content-Type": "application/json",
        "Api-Timestamp": timestamp,
        "Api-Signature": compute_signature(secret, timestamp, raw),
    }


def job_envelope(
    event: str,
    at: str,
    job_id: str = "job_1",
    customer_id: str = "cus_1",
    phone: str | None = "(512) 555-0142",
    email: str | None = "Pat.Doe@Example.com",
    total: int = 45000,
    balance: int | None = None,
) -> dict[str, Any]:
    """A Housecall Pro job event with an embedded customer."""
    return {
        "event": event,
        "event_occurred_at": at,
        "company_id": "co_1",
        "job": {
            "id": job_id,
            "description": "Kitchen drain clog",
            "work_status": "scheduled",
            "customer": {
                "id": customer_id,
                "first_name": "Pat",
                "last_name": "Doe",
                "email": email,
                "mobile_number": phone,
            },
            "address": {
                "street": "123 Main St",
                "street_line_2": "Apt 4",
                "city": "Austin",
                "state": "TX",
                "zip": "78701",
            },
            "total_amount": total,
            "outstanding_balance": total if balance is None else balance,
            "assigned_employees": [{"id": "pro_1", "first_name": "Ray", "last_name": "Ortiz"}],
            "job_fields": {"job_type": {"name": "Drain cleaning"}},
        },
    }


def delivery(headers: dict[str, str], body: bytes, url: str = "https://relay.example.com/webhooks/x") -> WebhookRequest:
    """A webhook as the route hands it to a connector's ``verify``."""
    return WebhookRequest(headers=headers, body=body, url=url, client_ip="203.0.113.7")


def add_sent_email(
    engine: Engine, provider_message_id: str, to: str, purpose: str = "review_request", body: str = "Thanks!"
) -> str:
    """A customer holding ``to`` and an email sent to them an hour before START under ``provider_message_id``.

    Returns the message id. Email receipts (SendGrid, Postmark) need a message to attach to, and fieldrelay does
    not send email yet, so tests put one in place.
    """
    customer_id, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    sent_at = START - timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(
            insert(customers).values(
                id=customer_id,
                account_id="default",
                first_name="Pat",
                last_name="Doe",
                lifecycle_stage="customer",
                sms_opted_out=False,
                created_at=START,
                updated_at=START,
            )
        )
        conn.execute(insert(customer_emails).values(account_id="default", customer_id=customer_id, email=to))
        conn.execute(
            insert(messages).values(
                id=message_id,
                account_id="default",
                customer_id=customer_id,
                channel="email",
                purpose=purpose,
                to_address=to,
                body=body,
                status="sent",
                scheduled_for=sent_at,
                sent_at=sent_at,
                provider_message_id=provider_message_id,
                created_at=sent_at,
            )
        )
    return message_id


class RecordingVendor:
    """A vendor's HTTP side for ``httpx.MockTransport``: answers with ``handler`` and keeps every request it saw."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)
