"""HTTP Basic credentials for Postmark webhooks, which Postmark does not sign.

Vendor-published: Postmark webhooks carry no signature; a webhook URL can hold HTTP Basic credentials
(https://user:password@host/path, https://postmarkapp.com/developer/webhooks/webhooks-overview), which Postmark
sends as an ``Authorization: Basic`` header. There is no SDK check for this, so it is written here with the
standard library: the decoded ``user:password`` is compared in constant time with ``hmac.compare_digest`` so the
time taken says nothing about how much of a guess was right.
"""

from __future__ import annotations

import base64
import binascii
import hmac


def credentials_problem(secret: str | None, authorization: str | None) -> str | None:
    """None when ``authorization`` carries exactly ``secret`` ("user:password") as Basic credentials, else why not."""
    if not secret:
        return "no secret configured"
    if ":" not in secret:
        return "FIELDRELAY_POSTMARK_SECRET must be user:password"
    if not authorization or not authorization.strip():
        return "missing credentials"
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return "not HTTP Basic credentials"
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "unreadable credentials"
    if not hmac.compare_digest(given, secret.encode("utf-8")):
        return "wrong credentials"
    return None
