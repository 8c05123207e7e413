"""Webhook intake: store a verified delivery in the inbox exactly once, or count it as a redelivery."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine, update

from fieldrelay.service.ports import InboundConnector, ParseError
from fieldrelay.storage.mirror_repo import insert_ignore
from fieldrelay.storage.tables import inbox

# Headers worth keeping for a person replaying a delivery; credentials are never stored.
_KEPT_HEADERS = ("content-type", "user-agent", "api-timestamp", "x-request-id")


class Intake(StrEnum):
    """What happened to a delivery."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"


def receive(
    engine: Engine,
    connector: InboundConnector,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    account_id: str,
) -> Intake:
    """Store an already verified delivery; a malformed body is stored too, straight into the error queue."""
    status, error = "pending", None
    try:
        ident = connector.identify(body)
        key, event_type = ident.dedupe_key, ident.event_type
    except ParseError as exc:
        key, event_type = "raw:" + hashlib.sha256(body).hexdigest()[:40], None
        status, error = "error", str(exc)
    row = {
        "account_id": account_id,
        "connector": connector.name,
        "dedupe_key": key,
        "event_type": event_type,
        "received_at": now,
        "deliveries": 1,
        "headers": {k: v for k, v in headers.items() if k.lower() in _KEPT_HEADERS},
        "body": body,
        "status": status,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": error,
    }
    with engine.begin() as conn:
        if insert_ignore(conn, inbox, row):
            return Intake.MALFORMED if error else Intake.ACCEPTED
        c = inbox.c
        conn.execute(
            update(inbox)
            .where(c.account_id == account_id, c.connector == connector.name, c.dedupe_key == key)
            .values(deliveries=c.deliveries + 1)
        )
    return Intake.DUPLICATE
