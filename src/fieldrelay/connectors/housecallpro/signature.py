"""Housecall Pro webhook signature: hex HMAC-SHA256(secret, "{Api-Timestamp}.{raw body}").

Housecall Pro does not publish this scheme; it is known from integrators' code (see
../shared/payloads/README.md). No vendor SDK exists for it, so it is written here with the standard
library's ``hmac`` (constant-time comparison via ``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac
import math

SIGNATURE_HEADER = "Api-Signature"
TIMESTAMP_HEADER = "Api-Timestamp"


def compute_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Return the hex signature Housecall Pro sends for ``body`` at ``timestamp``."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_matches(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Compare in constant time; any malformed input is simply a mismatch."""
    if not (timestamp.isascii() and signature.isascii()):
        return False  # compare_digest refuses non-ASCII str; such a header cannot be a hex signature anyway
    expected = compute_signature(secret, timestamp, body)
    return hmac.compare_digest(expected, signature.strip().lower())


def parse_timestamp(raw: str) -> float | None:
    """Read ``Api-Timestamp`` as Unix seconds (milliseconds are accepted and scaled); None if unreadable."""
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(value):
        return None  # "nan" would compare as inside every window
    if value > 1e11:  # milliseconds since the epoch
        value /= 1000.0
    return value
