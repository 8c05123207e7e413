"""Jobber webhook signature: ``X-Jobber-Hmac-SHA256`` = Base64 HMAC-SHA256 of the raw body with the client secret.

Published by Jobber (https://developer.getjobber.com/docs/using_jobbers_api/setting_up_webhooks). Jobber has no
Python SDK, so it is written here with the standard library's ``hmac``; digests are compared with
``hmac.compare_digest`` so the time taken does not reveal how much of a forged value matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SIGNATURE_HEADER = "X-Jobber-Hmac-SHA256"


def compute_signature(secret: str, body: bytes) -> str:
    """The header value Jobber sends for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """Compare in constant time; an undecodable header is simply a mismatch (never an exception)."""
    value = header.strip()
    if not value.isascii():
        return False
    try:
        given = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)
