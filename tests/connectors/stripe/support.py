"""Stripe test helpers: the endpoint secret, fixtures, and deliveries signed with the SDK."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from stripe import WebhookSignature

STRIPE_SECRET = "whsec_test_fieldrelay_0123456789abcdef"
FIXTURES = Path(__file__).with_name("fixtures")

PI_ID = "pi_1PgafyB7WZ01zgkWSjxsAJo3"
CHARGE_ID = "ch_1PgafuB7WZ01zgkWXYmPNZs8"
STRIPE_CUSTOMER = "cus_QXg1o8vcGmoR32"


def raw(name: str) -> bytes:
    """The bytes of a fixture file."""
    return (FIXTURES / f"{name}.json").read_bytes()


def load(name: str) -> dict[str, Any]:
    """A fixture as a dict, to vary in a test."""
    data: dict[str, Any] = json.loads(raw(name))
    return data


def encode(data: object) -> bytes:
    """JSON bytes of a payload, as Stripe sends them (compact)."""
    return json.dumps(data, separators=(",", ":")).encode()


def stripe_headers(body: bytes, at: datetime, secret: str = STRIPE_SECRET) -> dict[str, str]:
    """Headers of a delivery signed at ``at`` by the SDK's own header generator."""
    header = WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=int(at.timestamp()))
    return {"Content-Type": "application/json", "Stripe-Signature": header}


def event(name: str, *, event_id: str, created: datetime, **object_changes: Any) -> dict[str, Any]:
    """A fixture event with a new id, a new creation time and changed fields of its object."""
    data = copy.deepcopy(load(name))
    data["id"] = event_id
    data["created"] = int(created.timestamp())
    data["data"]["object"].update(object_changes)
    return data


def job_metadata(job_id: str, source: str = "housecallpro") -> dict[str, str]:
    """Metadata naming a field tool's job, as the shop sets it on the PaymentIntent (and its charge)."""
    return {"job_id": job_id, "job_source": source}
