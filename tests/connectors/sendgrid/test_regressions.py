"""Regressions found outside the SendGrid / Postmark / forms folders while writing them, fixed where they live."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldrelay.api.app import create_app
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import inbox
from tests.conftest import START
from tests.helpers import signed
from tests.service.support import count


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """A client that returns server errors as responses instead of raising them."""
    with TestClient(create_app(runtime), raise_server_exceptions=False) as test_client:
        yield test_client


def test_housecallpro_signed_body_with_an_over_long_integer_is_stored_as_malformed(
    client: TestClient, runtime: Runtime
) -> None:
    body, headers = signed(b'{"event": ' + b"1" * 5000 + b"}", START)
    response = client.post("/webhooks/housecallpro", content=body, headers=headers)
    assert response.status_code == 202
    assert count(runtime, inbox) == 1
