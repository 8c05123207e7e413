"""SendGrid test support: a P-256 key pair made for this test run, signed deliveries and event builders."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine, Table, select

from fieldrelay.storage.tables import (
    activities,
    consents,
    customer_emails,
    customer_phones,
    customers,
    external_ids,
    messages,
)
from tests.conftest import TEST_YAML
from tests.helpers import add_sent_email

SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


def public_key_text(key: ec.EllipticCurvePrivateKey) -> str:
    """The verification key as SendGrid shows it: base64 of the DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY = public_key_text(KEY)

SENDGRID_YAML = (
    TEST_YAML
    + f"""
connectors:
  sendgrid:
    verification_key: {PUBLIC_KEY}
    max_timestamp_age_seconds: 300
"""
)


def encode(data: Any) -> bytes:
    """JSON bytes of a batch."""
    return json.dumps(data).encode()


def sign(body: bytes, at: datetime, key: ec.EllipticCurvePrivateKey = KEY) -> dict[str, str]:
    """Headers SendGrid would send with ``body`` signed at ``at``."""
    timestamp = str(int(at.timestamp()))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {"Content-Type": "application/json", SIGNATURE: base64.b64encode(signature).decode(), TIMESTAMP: timestamp}


def lower(headers: dict[str, str]) -> dict[str, str]:
    """Headers as the route hands them to a connector."""
    return {k.lower(): v for k, v in headers.items()}


def event(kind: str, event_id: str, at: datetime, message: str = "msgAAA", **extra: Any) -> dict[str, Any]:
    """One SendGrid event for ``message`` (the X-Message-Id), with the per-recipient suffix SendGrid adds."""
    return {
        "email": "pat.doe@example.com",
        "timestamp": int(at.timestamp()),
        "smtp-id": f"<{message}@ismtpd0001p1las1.sendgrid.net>",
        "event": kind,
        "sg_event_id": event_id,
        "sg_message_id": f"{message}.filterdrecv-5645d9c87f-6r6tg-1-5F6D3E3A-1F.0",
        **extra,
    }


# --- the database side ---------------------------------------------------------------------------------

MIRROR = (customers, customer_emails, customer_phones, external_ids, activities, messages, consents)


def rows(engine: Engine, table: Table) -> list[Any]:
    """Every row of a table, in id order."""
    with engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)).all())


def mirror(engine: Engine) -> dict[str, list[Any]]:
    """Every mirror row a SendGrid event can touch, for "nothing changed" comparisons."""
    return {t.name: rows(engine, t) for t in MIRROR}


def add_email_message(engine: Engine, provider_message_id: str, to: str = "pat.doe@example.com") -> str:
    """A customer holding ``to`` and an email sent to them under ``provider_message_id``; returns the message id."""
    return add_sent_email(engine, provider_message_id, to, body="Would you leave us a review?")
