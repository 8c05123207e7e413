"""Jobber test secrets: the app's client secret and an API access token in the environment."""

from __future__ import annotations

import pytest

from tests.connectors.jobber.support import JOBBER_SECRET, TOKEN


@pytest.fixture
def secrets_env(secrets_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared secrets plus FIELDRELAY_JOBBER_SECRET and FIELDRELAY_JOBBER_ACCESS_TOKEN."""
    monkeypatch.setenv("FIELDRELAY_JOBBER_SECRET", JOBBER_SECRET)
    monkeypatch.setenv("FIELDRELAY_JOBBER_ACCESS_TOKEN", TOKEN)
