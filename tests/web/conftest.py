"""Fixtures of the office app's tests without a browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldrelay.runtime import Runtime
from fieldrelay.server import build_app


@pytest.fixture
def office(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The server's app (API and office app), no worker, nobody signed in."""
    monkeypatch.setenv("FIELDRELAY_SESSION_SECRET", "test-session-secret")
    with TestClient(build_app(runtime)) as test_client:
        yield test_client
