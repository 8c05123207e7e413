"""ServiceTitan V2 webhook signature: HMAC-SHA256 of the raw body with the app's HMAC key.

ServiceTitan documents that V2 webhooks carry an HMAC of the payload computed with the key entered in the
developer portal (https://developer-next.servicetitan.io/docs/webhooks), but not the header that carries it
nor how the digest is encoded. Both are configuration (``connectors.servicetitan.signature_header`` and
``signature_encoding``); the defaults ``ST-Signature`` / base64 are unverified guesses.

There is no ServiceTitan SDK for this, so it is written here with the standard library's ``hmac``; digests are
compared with ``hmac.compare_digest`` so the time taken does not reveal how much of a forged value matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Literal

Encoding = Literal["base64", "hex"]

_PREFIX = "sha256="


def digest(secret: str, body: bytes) -> bytes:
    """The raw HMAC-SHA256 of ``body`` under ``secret``."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()


def compute_signature(secret: str, body: bytes, encoding: Encoding = "base64") -> str:
    """The header value ServiceTitan would send for ``body`` (as this connector understands the scheme)."""
    raw = digest(secret, body)
    return base64.b64encode(raw).decode("ascii") if encoding == "base64" else raw.hex()


def signature_matches(secret: str, body: bytes, header: str, encoding: Encoding) -> bool:
    """Compare in constant time; an undecodable header is simply a mismatch (never an exception)."""
    value = header.strip()
    if value.lower().startswith(_PREFIX):  # tolerated: some senders prefix the algorithm
        value = value[len(_PREFIX) :]
    if not value.isascii():
        return False
    try:
        given = base64.b64decode(value, validate=True) if encoding == "base64" else bytes.fromhex(value)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(digest(secret, body), given)
