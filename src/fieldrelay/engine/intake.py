"""Webhook intake: store a verified delivery in the inbox exactly once, or count it as a redelivery."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Update, bindparam, update

from fieldrelay.domain.redaction import redact
from fieldrelay.domain.text import is_storable, storable
from fieldrelay.service.ports import InboundConnector, ParseError
from fieldrelay.storage.prepared import insert_ignore
from fieldrelay.storage.tables import inbox

# Headers worth keeping for a person replaying a delivery; credentials are never stored.
_MAX_KEY, _MAX_EVENT_TYPE = 200, 100  # inbox.dedupe_key and inbox.event_type column widths
_KEPT_HEADERS = ("content-type", "user-agent", "api-timestamp", "x-request-id")


class Intake(StrEnum):
    """What happened to a delivery."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"


def prepare(
    connector: InboundConnector,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    account_id: str,
) -> list[dict[str, Any]]:
    """The inbox rows of an already verified delivery: one per item of a batch; malformed ones go to the error queue."""
    wanted = _KEPT_HEADERS + connector.kept_headers
    kept = {k.lower(): v for k, v in headers.items() if k.lower() in wanted}
    try:
        items: Sequence[bytes] = connector.split(body)
    except Exception as exc:  # a signed body is stored whatever it holds: never a 5xx the vendor would retry
        return [_row(connector.name, account_id, now, kept, body, _raw_key(body), None, _reason(exc))]
    rows = []
    for item in items:
        try:
            ident = connector.identify(item)
            key, event_type = _fit(ident.dedupe_key, ident.event_type)
            rows.append(_row(connector.name, account_id, now, kept, item, key, event_type, None))
        except Exception as exc:
            rows.append(_row(connector.name, account_id, now, kept, item, _raw_key(item), None, _reason(exc)))
    return rows


def _reason(exc: Exception) -> str:
    """Why an item cannot be identified, as the error queue shows it: storable, without personal data."""
    text = str(exc) if isinstance(exc, ParseError) else f"cannot read the delivery: {type(exc).__name__}: {exc}"
    return storable(redact(text))


def store(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> Intake:
    """Insert prepared rows in the caller's transaction; a row already there counts one more delivery."""
    outcome = Intake.DUPLICATE
    for row in rows:
        if insert_ignore(conn, inbox, row):
            if outcome is Intake.DUPLICATE or row["last_error"]:
                outcome = Intake.MALFORMED if row["last_error"] else Intake.ACCEPTED
        else:
            conn.execute(
                _count_redelivery(),
                {"b_account": row["account_id"], "b_connector": row["connector"], "b_key": row["dedupe_key"]},
            )
    return outcome


def receive(
    engine: Engine,
    connector: InboundConnector,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    account_id: str,
) -> Intake:
    """Store an already verified delivery in a transaction of its own."""
    rows = prepare(connector, headers, body, now, account_id)
    with engine.begin() as conn:
        return store(conn, rows)


def _fit(key: str, event_type: str | None) -> tuple[str, str | None]:
    """Keep a vendor's dedupe key and event name within their columns: a long key is hashed, a long name cut."""
    # PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded for either database.
    if len(key) > _MAX_KEY or not is_storable(key):
        key = "h:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    if event_type is not None:
        event_type = storable(event_type)[:_MAX_EVENT_TYPE]
    return key, event_type


def _raw_key(body: bytes) -> str:
    return "raw:" + hashlib.sha256(body).hexdigest()[:40]


def _row(
    connector: str,
    account_id: str,
    now: datetime,
    headers: dict[str, str],
    body: bytes,
    key: str,
    event_type: str | None,
    error: str | None,
) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "connector": connector,
        "dedupe_key": key,
        "event_type": event_type,
        "received_at": now,
        "deliveries": 1,
        "headers": headers,
        "body": body,
        "status": "error" if error else "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": error,
    }


@cache
def _count_redelivery() -> Update:
    # Built once: constructing the statement per request cost more than running it (see bench/ingest.py).
    c = inbox.c
    return (
        update(inbox)
        .where(
            c.account_id == bindparam("b_account"),
            c.connector == bindparam("b_connector"),
            c.dedupe_key == bindparam("b_key"),
        )
        .values(deliveries=c.deliveries + 1)
    )
