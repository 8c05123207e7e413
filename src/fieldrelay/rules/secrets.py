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


def smtp_password() -> str | None:
    """The SMTP relay's password (``FIELDRELAY_SMTP_PASSWORD``), or None when unset (no login, or no start)."""
    value = os.environ.get("FIELDRELAY_SMTP_PASSWORD", "").strip()
    return value or None


def sendgrid_api_key() -> str | None:
    """SendGrid's API key (``FIELDRELAY_SENDGRID_API_KEY``), or None when unset (the sender then refuses to start)."""
    value = os.environ.get("FIELDRELAY_SENDGRID_API_KEY", "").strip()
    return value or None


def twilio_account_sid() -> str | None:
    """Twilio's account SID (``FIELDRELAY_TWILIO_ACCOUNT_SID``, AC…), or None when unset (the sender then refuses)."""
    value = os.environ.get("FIELDRELAY_TWILIO_ACCOUNT_SID", "").strip()
    return value or None


def unsubscribe_secret() -> str | None:
    """The key signing unsubscribe links (``FIELDRELAY_UNSUBSCRIBE_SECRET``), or None when unset (no links)."""
    value = os.environ.get("FIELDRELAY_UNSUBSCRIBE_SECRET", "").strip()
    return value or None


def env_secret(name: str) -> str | None:
    """``FIELDRELAY_<NAME>`` from the environment, or None when unset or blank."""
    value = os.environ.get(f"FIELDRELAY_{name.upper()}", "").strip()
    return value or None
