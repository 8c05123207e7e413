"""The signature on fieldrelay's outbound webhooks: ``v1=`` + hex HMAC-SHA256 over ``{timestamp}.{id}.{body}``.

This is fieldrelay's own scheme, written by hand on purpose: there is no vendor contract to follow and no SDK to
reuse, and the whole thing is one HMAC. Its shape follows Standard Webhooks (https://www.standardwebhooks.com/) and
Stripe's ``Stripe-Signature``: the timestamp is signed with the body so a captured request cannot be replayed later,
the message id is signed so it cannot be swapped for another one the receiver has not seen, and the signature header
may carry several space-separated signatures so a receiver can accept the old and the new secret while rotating.
Unlike Standard Webhooks the secret is used as its UTF-8 bytes (no ``whsec_`` base64 prefix), and the signature is
hex rather than base64, so a receiver can check it with nothing but ``hmac`` and ``hashlib``.

``verify`` is what the receivers' example in docs/crm.md does, kept here so the tests pin both sides of the scheme.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

VERSION = "v1"  # the prefix of a signature; a new scheme would get a new prefix, and receivers skip ones they lack
DEFAULT_TOLERANCE_SECONDS = 300  # how far a request's timestamp may be from the receiver's clock, either way


def signed_content(webhook_id: str, timestamp: int, body: bytes) -> bytes:
    """The bytes the signature covers: ``{timestamp}.{webhook_id}.`` followed by the raw body."""
    return f"{timestamp}.{webhook_id}.".encode() + body


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``FieldRelay-Signature`` value for one request: ``v1=<hex HMAC-SHA256>``."""
    if not secret:
        # An empty key would still produce a valid-looking signature that anyone can forge.
        raise ValueError("a webhook signature needs a non-empty secret")
    digest = hmac.new(secret.encode(), signed_content(webhook_id, timestamp, body), hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def verify(
    secret: str,
    webhook_id: str,
    timestamp_header: str | None,
    signature_header: str | None,
    body: bytes,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether a received request is signed with ``secret`` and its timestamp is within ``tolerance_seconds`` of now.

    ``signature_header`` may hold several space-separated signatures (a sender rotating its secret may sign with
    both secrets); one match is enough. Signatures of another version are skipped, not errors.
    """
    if not secret or not timestamp_header or not signature_header:
        return False
    raw_timestamp = timestamp_header.strip()
    if not raw_timestamp.isascii() or not raw_timestamp.isdigit():
        return False
    timestamp = int(raw_timestamp)
    # Both directions: an old timestamp is a replay, one far in the future would stay "fresh" for too long.
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, webhook_id, timestamp, body).encode()
    # Compared as bytes: compare_digest raises TypeError on a str with non-ASCII characters, and a header is
    # attacker-controlled. Each comparison is constant-time; stopping at the first match leaks nothing useful.
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in signature_header.split())
