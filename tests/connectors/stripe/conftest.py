"""Stripe test secrets: the endpoint secret in the environment for every runtime built here."""

from __future__ import annotations

import pytest

from tests.connectors.stripe.support import STRIPE_SECRET


@pytest.fixture
def secrets_env(secrets_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared secrets plus FIELDRELAY_STRIPE_SECRET."""
    monkeypatch.setenv("FIELDRELAY_STRIPE_SECRET", STRIPE_SECRET)
