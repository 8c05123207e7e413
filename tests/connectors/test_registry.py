"""The registry builds the configured CRM targets with their secrets from the environment."""

from __future__ import annotations

import pytest

from fieldrelay.connectors.hubspot.target import HubSpotTarget
from fieldrelay.connectors.registry import crm_targets
from fieldrelay.connectors.salesforce.target import SalesforceTarget
from fieldrelay.connectors.webhook_out.target import SignedWebhookTarget
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.loader import parse_settings
from tests.conftest import START

CRM_YAML = """
business: {name: X}
crm:
  targets: [webhook, hubspot, salesforce]
  webhook: {url: "https://hooks.example.test/in"}
  salesforce: {instance_url: "https://acme.my.salesforce.com"}
"""


def test_every_configured_target_is_built_with_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDRELAY_HUBSPOT_TOKEN", "pat-na1-x")
    monkeypatch.setenv("FIELDRELAY_SALESFORCE_TOKEN", "00Dxx!token")
    monkeypatch.setenv("FIELDRELAY_WEBHOOK_OUT_SECRET", "whsec")
    targets = crm_targets(parse_settings(CRM_YAML, "t.yaml"), SimulatedClock(START))
    assert list(targets) == ["webhook", "hubspot", "salesforce"]
    assert isinstance(targets["webhook"], SignedWebhookTarget)
    assert isinstance(targets["hubspot"], HubSpotTarget)
    assert isinstance(targets["salesforce"], SalesforceTarget)
    assert all(name == target.name for name, target in targets.items())


def test_no_targets_build_nothing() -> None:
    assert crm_targets(parse_settings("business: {name: X}\n", "t.yaml"), SimulatedClock(START)) == {}
