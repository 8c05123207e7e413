"""Secrets from the environment (``FIELDRELAY_<CONNECTOR>_SECRET``, ``FIELDRELAY_API_TOKEN``), never from YAML."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from fieldrelay.rules.config import Settings


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


@dataclass(frozen=True)
class SecretState:
    """Whether one connector, provider or CRM target has its secret in the environment (never the value itself)."""

    kind: str  # webhook, sms, email, crm, api, web, links
    name: str
    needs: str  # the variables (for SendGrid's public key: the setting) it reads, in words; empty: it needs none
    is_set: bool
    effect: str  # what a missing secret means

    @property
    def state(self) -> str:
        """``secret set``, ``secret missing`` or ``no secret needed``."""
        if not self.needs:
            return "no secret needed"
        return "secret set" if self.is_set else "secret missing"

    @property
    def missing(self) -> bool:
        """True when it needs a secret that is not set."""
        return bool(self.needs) and not self.is_set


def _env(*names: str) -> bool:
    return all(env_secret(name) for name in names)


def _vars(*names: str) -> str:
    return " and ".join(f"FIELDRELAY_{name.upper()}" for name in names)


def secret_states(settings: Settings, inbound: Iterable[str]) -> list[SecretState]:
    """Every inbound connector (by name), the message providers, each CRM target, the API token, sessions, in order."""
    found = []
    webhook = "its webhooks get 401"
    for name in inbound:
        if name == "sendgrid":  # SendGrid signs with a public key kept in the YAML, not a secret
            key = settings.connectors.sendgrid.verification_key
            found.append(SecretState("webhook", name, "connectors.sendgrid.verification_key", bool(key), webhook))
        else:
            found.append(SecretState("webhook", name, _vars(f"{name}_secret"), _env(f"{name}_secret"), webhook))
    messaging, refuses = settings.messaging, "serve and worker refuse to start"
    sms = ("twilio_account_sid", "twilio_secret") if messaging.sms_provider == "twilio" else ()
    found.append(SecretState("sms", messaging.sms_provider, _vars(*sms), _env(*sms), refuses))
    email = {"smtp": ("smtp_password",) if messaging.smtp.username else (), "sendgrid": ("sendgrid_api_key",)}
    mail = email.get(messaging.email_provider, ())
    found.append(SecretState("email", messaging.email_provider, _vars(*mail), _env(*mail), refuses))
    for target in settings.crm.targets:
        if target == "salesforce":
            pair = ("salesforce_client_id", "salesforce_client_secret")
            needs = f"{_vars('salesforce_token')}, or {_vars(*pair)}"
            found.append(SecretState("crm", target, needs, _env("salesforce_token") or _env(*pair), refuses))
        else:
            secret = "hubspot_token" if target == "hubspot" else "webhook_out_secret"
            found.append(SecretState("crm", target, _vars(secret), _env(secret), refuses))
    found.append(SecretState("api", "token", _vars("api_token"), _env("api_token"), "/api refuses every request"))
    # Without it each process makes its own key for the office app's session cookies.
    signed_out = (
        "every restart signs everyone out, and several processes each sign their own cookies (a sign-in works on one)"
    )
    found.append(SecretState("web", "sessions", _vars("session_secret"), _env("session_secret"), signed_out))
    links = "marketing email through a real provider is held back (it needs an unsubscribe link)"
    found.append(SecretState("links", "unsubscribe", _vars("unsubscribe_secret"), _env("unsubscribe_secret"), links))
    return found
