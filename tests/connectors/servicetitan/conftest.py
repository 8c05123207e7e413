"""ServiceTitan test secrets: the webhook HMAC key in the environment for every runtime built here."""

from __future__ import annotations

import pytest

from tests.connectors.servicetitan.support import ST_SECRET


@pytest.fixture
def secrets_env(secrets_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared secrets plus FIELDRELAY_SERVICETITAN_SECRET."""
    monkeypatch.setenv("FIELDRELAY_SERVICETITAN_SECRET", ST_SECRET)
