"""Helpers for tests: signed Housecall Pro requests and envelope builders."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fieldrelay.connectors.housecallpro.signature import compute_signature
from fieldrelay.service.ports import WebhookRequest
from tests.conftest import HCP_SECRET


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
