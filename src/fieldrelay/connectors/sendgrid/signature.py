"""SendGrid Signed Event Webhook check, through the official SDK's ``EventWebhook``.

Vendor-published, see
https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features :
ECDSA P-256 / SHA-256 over ``X-Twilio-Email-Event-Webhook-Timestamp`` + raw body, base64 DER signature in
``X-Twilio-Email-Event-Webhook-Signature``; the verification key is the base64 DER public key shown in SendGrid's
mail settings. The SDK does the cryptography; this module only guards its inputs so nothing it raises escapes.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

# The SDK's EventWebhookHeader names, spelled out so that a process with no SendGrid key never imports the SDK
# (with the cryptography it loads: about 8 MB of every process's memory); a test keeps them equal to the SDK's.
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

_PEM_LINES = ("-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----")


def load_verifier(verification_key: str | None) -> Any | None:
    """An SDK verifier for the configured key, or None when no key is set or it cannot be read."""
    if not verification_key or not verification_key.strip():
        return None
    # SendGrid shows the key as bare base64; a pasted PEM block is accepted too (the SDK adds the armour itself).
    text = verification_key.strip()
    for line in _PEM_LINES:
        text = text.replace(line, "")
    text = "".join(text.split())
    from sendgrid.helpers.eventwebhook import EventWebhook  # type: ignore[import-untyped]  # only with a key

    try:
        return EventWebhook(text)
    except Exception:  # the SDK raises ValueError (and others) for a key it cannot load; refusing is the answer
        return None


def signature_valid(verifier: Any, timestamp: str, body: bytes, signature: str) -> bool:
    """True when ``signature`` is SendGrid's over ``timestamp`` + ``body``; any malformed input is a mismatch."""
    try:
        payload = body.decode("utf-8")  # SendGrid signs JSON text; the SDK re-encodes it as UTF-8, byte for byte
    except UnicodeDecodeError:
        return False
    signature = signature.strip()
    try:
        # The SDK decodes leniently (characters after the padding are ignored); a signature is exactly base64.
        base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        return bool(verifier.verify_signature(payload, signature, timestamp))
    except Exception:  # bad base64, a non-ASCII header, a key of the wrong type: none of them is a valid signature
        return False
