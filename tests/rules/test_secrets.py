"""Which secrets a configuration needs, and whether the environment holds them (never their values)."""

from __future__ import annotations

import pytest

from fieldrelay.rules.loader import parse_settings
from fieldrelay.rules.secrets import secret_states

VARIABLES = (
    "HOUSECALLPRO_SECRET",
    "STRIPE_SECRET",
    "TWILIO_SECRET",
    "TWILIO_ACCOUNT_SID",
    "HUBSPOT_TOKEN",
    "SALESFORCE_TOKEN",
    "SALESFORCE_CLIENT_ID",
    "SALESFORCE_CLIENT_SECRET",
    "API_TOKEN",
    "SENDGRID_API_KEY",
    "SESSION_SECRET",
)
SHOP = """business: {name: Volt Electric}
messaging: {sms_provider: twilio, email_provider: sendgrid, twilio: {from_number: "+15125550100"}}
crm: {targets: [hubspot, salesforce], salesforce: {instance_url: "https://volt.my.salesforce.com"}}
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the secrets set unless a test sets it."""
    for name in VARIABLES:
        monkeypatch.delenv(f"FIELDRELAY_{name}", raising=False)


def test_each_connector_provider_and_target_says_set_or_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDRELAY_HOUSECALLPRO_SECRET", "s3cret-value")
    monkeypatch.setenv("FIELDRELAY_TWILIO_SECRET", "tw")  # the account SID is still missing
    monkeypatch.setenv("FIELDRELAY_SALESFORCE_CLIENT_ID", "id")
    monkeypatch.setenv("FIELDRELAY_SALESFORCE_CLIENT_SECRET", "secret")
    states = {(s.kind, s.name): s for s in secret_states(parse_settings(SHOP), ["housecallpro", "stripe", "twilio"])}
    said = {key: s.state for key, s in states.items()}
    assert said == {
        ("webhook", "housecallpro"): "secret set",
        ("webhook", "stripe"): "secret missing",
        ("webhook", "twilio"): "secret set",
        ("sms", "twilio"): "secret missing",
        ("email", "sendgrid"): "secret missing",
        ("crm", "hubspot"): "secret missing",
        ("crm", "salesforce"): "secret set",
        ("api", "token"): "secret missing",
        ("web", "sessions"): "secret missing",
        ("links", "unsubscribe"): "secret missing",
    }
    assert states[("sms", "twilio")].needs == "FIELDRELAY_TWILIO_ACCOUNT_SID and FIELDRELAY_TWILIO_SECRET"
    assert states[("webhook", "stripe")].effect == "its webhooks get 401"
    assert not any("s3cret-value" in repr(s) for s in states.values())


def test_the_development_providers_need_no_secret() -> None:
    states = secret_states(parse_settings("business: {name: Volt Electric}\n"), [])
    assert [(s.kind, s.name, s.state) for s in states if s.kind in ("sms", "email")] == [
        ("sms", "devsms", "no secret needed"),
        ("email", "devmail", "no secret needed"),
    ]
