"""Secrets from the environment (``FIELDRELAY_<CONNECTOR>_SECRET``, ``FIELDRELAY_API_TOKEN``), never from YAML."""

from __future__ import annotations

import os


def connector_secret(connector: str) -> str | None:
    """The webhook secret of a connector, or None when unset (the connector then refuses everything)."""
    value = os.environ.get(f"FIELDRELAY_{connector.upper()}_SECRET", "").strip()
    return value or None


def api_token() -> str | None:
    """The bearer token of the JSON API, or None when unset (the API then refuses everything)."""
    value = os.environ.get("FIELDRELAY_API_TOKEN", "").strip()
    return value or None
