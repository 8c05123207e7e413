"""Postmark test support: Basic credentials, record builders and database helpers."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, select

from fieldrelay.storage.tables import activities, consents, customer_emails, customers, messages
from tests.helpers import add_sent_email

SECRET = "fieldrelay:pm-test-password"
MESSAGE_ID = "0a129aee-e1cd-480d-b08d-4f48548ff48d"
TO = "pat.doe@example.com"


def basic(credentials: str = SECRET) -> dict[str, str]:
    """Headers Postmark sends for a webhook URL holding ``credentials``."""
    token = base64.b64encode(credentials.encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def encode(data: Any) -> bytes:
    """JSON bytes of a record."""
    return json.dumps(data).encode()


def iso(at: datetime) -> str:
    """A time as Postmark writes it (seven fractional digits, Z)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def record(kind: str, at: datetime, message: str = MESSAGE_ID, **extra: Any) -> dict[str, Any]:
    """A Postmark record of ``kind`` about ``message`` at ``at``."""
    base: dict[str, Any] = {"RecordType": kind, "ServerID": 23, "MessageStream": "outbound", "MessageID": message}
    if kind == "Delivery":
        base |= {"Recipient": TO, "DeliveredAt": iso(at), "Details": "smtp;250 2.0.0 OK"}
    elif kind in ("Bounce", "SpamComplaint"):
        base |= {"ID": 4323372036, "Type": "HardBounce", "Email": TO, "BouncedAt": iso(at)}
        base |= {"Description": "The server was unable to deliver your message.", "Inactive": True}
    elif kind in ("Open", "Click"):
        base |= {"Recipient": TO, "ReceivedAt": iso(at), "FirstOpen": True}
    elif kind == "SubscriptionChange":
        base |= {
            "Recipient": TO,
            "ChangedAt": iso(at),
            "SuppressSending": True,
            "SuppressionReason": "ManualSuppression",
        }
    return base | extra


MIRROR = (customers, customer_emails, activities, messages, consents)


def rows(engine: Engine, table: Table) -> list[Any]:
    """Every row of a table, in id order."""
    with engine.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)).all())


def mirror(engine: Engine) -> dict[str, list[Any]]:
    """Every mirror row a Postmark record can touch, for "nothing changed" comparisons."""
    return {t.name: rows(engine, t) for t in MIRROR}


def add_email_message(engine: Engine, provider_message_id: str = MESSAGE_ID, to: str = TO) -> str:
    """A customer holding ``to`` and an email sent to them under ``provider_message_id``; returns the message id."""
    return add_sent_email(
        engine, provider_message_id, to, purpose="estimate_follow_up", body="Any questions about your estimate?"
    )
