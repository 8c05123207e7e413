"""The Jobber API access token, from ``FIELDRELAY_JOBBER_ACCESS_TOKEN`` (never from the YAML file)."""

from __future__ import annotations

import os

ACCESS_TOKEN_ENV = "FIELDRELAY_JOBBER_ACCESS_TOKEN"


def access_token() -> str | None:
    """The OAuth access token the worker sends as ``Authorization: Bearer``; None when unset."""
    value = os.environ.get(ACCESS_TOKEN_ENV, "").strip()
    return value or None
