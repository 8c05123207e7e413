"""The API token: fail closed; with no token configured the answer says so (503), a wrong token is 401."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fieldrelay.api.app import create_app
from fieldrelay.runtime import Runtime
from tests.conftest import API_TOKEN


def test_no_token_configured_is_503_saying_what_to_set(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDRELAY_API_TOKEN")
    client = TestClient(create_app(runtime))
    for headers in ({}, {"Authorization": f"Bearer {API_TOKEN}"}, {"Authorization": "Bearer "}):
        response = client.get("/api/errors", headers=headers)
        assert response.status_code == 503
        assert response.json() == {
            "detail": "no API token is configured on this server: set FIELDRELAY_API_TOKEN and restart fieldrelay"
        }


def test_a_configured_token_lets_only_itself_in(client: TestClient) -> None:
    assert client.get("/api/errors").status_code == 401
    assert client.get("/api/errors", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/errors", headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 200
