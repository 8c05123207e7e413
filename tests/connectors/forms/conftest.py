"""Forms tests: two configured forms, their tokens in the environment, a small rate limit."""

from __future__ import annotations

import pytest

from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from tests.connectors.forms.support import FORMS_SECRET, FORMS_YAML


@pytest.fixture
def settings() -> Settings:
    """The shared test settings plus the forms block."""
    return parse_settings(FORMS_YAML, "test.yaml")


@pytest.fixture(autouse=True)
def forms_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """FIELDRELAY_FORMS_SECRET with both forms' tokens and one for a form the configuration does not have."""
    monkeypatch.setenv("FIELDRELAY_FORMS_SECRET", FORMS_SECRET)
