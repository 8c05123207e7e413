"""Twilio test secrets, and a runtime whose Twilio connector stamps events with the test's simulated clock."""

from __future__ import annotations

import pytest

from fieldrelay.connectors.twilio.inbound import TwilioInbound
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from tests.connectors.twilio.support import TWILIO_TOKEN


@pytest.fixture
def secrets_env(secrets_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared secrets plus FIELDRELAY_TWILIO_SECRET."""
    monkeypatch.setenv("FIELDRELAY_TWILIO_SECRET", TWILIO_TOKEN)


@pytest.fixture
def twilio_runtime(runtime: Runtime, clock: SimulatedClock) -> Runtime:
    """The runtime with its Twilio connector reading the simulated clock (the registry's reads the wall clock)."""
    runtime.inbound["twilio"] = TwilioInbound(TWILIO_TOKEN, now=clock.now)
    return runtime
