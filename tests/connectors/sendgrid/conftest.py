"""SendGrid tests: settings carrying the test run's verification key (config, not a secret)."""

from __future__ import annotations

import pytest

from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from tests.connectors.sendgrid.support import SENDGRID_YAML


@pytest.fixture
def settings() -> Settings:
    """The shared test settings plus the SendGrid verification key."""
    return parse_settings(SENDGRID_YAML, "test.yaml")
