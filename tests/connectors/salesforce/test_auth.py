"""Salesforce sign-in: credentials from the environment, the client-credentials token, and the one refresh on 401."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from fieldrelay.connectors.salesforce.auth import (
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    TOKEN_ENV,
    SalesforceCredentials,
    credentials_from_env,
)
from fieldrelay.service.crm.targets import CrmWriteFailed
from tests.connectors.salesforce.support import (
    CONTACT_ID,
    CONTACT_PATH,
    FRESH_TOKEN,
    TOKEN,
    Handler,
    change,
    error,
    target,
)

CLIENT = SalesforceCredentials(client_id="3MVG9-consumer-key", client_secret="consumer-secret")
BOTH = SalesforceCredentials(access_token=TOKEN, client_id="3MVG9-consumer-key", client_secret="consumer-secret")
TOKEN_PATH = "/services/oauth2/token"


def org(accepted: set[str], token_answer: Handler | None = None) -> Handler:
    """An org that hands out FRESH_TOKEN for client credentials and takes only ``accepted`` bearer tokens."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            if token_answer is not None:
                return token_answer(request)
            return httpx.Response(
                200,
                json={
                    "access_token": FRESH_TOKEN,
                    "instance_url": "https://rapidrooter.my.salesforce.com",
                    "id": "https://login.salesforce.com/id/00Dxx0000001gPL/005xx000001X8Uz",
                    "token_type": "Bearer",
                    "issued_at": "1710430200000",
                    "signature": "c2lnbmF0dXJl",
                },
            )
        if request.headers["Authorization"].removeprefix("Bearer ") not in accepted:
            return httpx.Response(
                401, json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
        return httpx.Response(201, json={"id": CONTACT_ID, "errors": [], "success": True})

    return handler


def test_an_expired_token_is_refreshed_once_with_client_credentials_then_the_call_succeeds() -> None:
    sf, vendor = target(org({FRESH_TOKEN}), BOTH)

    result = sf.write(change())

    assert result.remote_id == CONTACT_ID
    first, token_request, retried = vendor.requests
    assert first.headers["Authorization"] == f"Bearer {TOKEN}"
    assert token_request.method == "POST"
    assert token_request.url.path == TOKEN_PATH
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": ["3MVG9-consumer-key"],
        "client_secret": ["consumer-secret"],
    }
    assert retried.url.path == CONTACT_PATH
    assert retried.headers["Authorization"] == f"Bearer {FRESH_TOKEN}"


def test_the_fresh_token_is_cached_for_later_writes() -> None:
    sf, vendor = target(org({FRESH_TOKEN}), BOTH)

    sf.write(change())
    sf.write(change())

    assert len(vendor.token_requests()) == 1
    assert vendor.api_requests()[-1].headers["Authorization"] == f"Bearer {FRESH_TOKEN}"


def test_client_credentials_alone_fetch_a_token_before_the_first_call() -> None:
    sf, vendor = target(org({FRESH_TOKEN}), CLIENT)

    sf.write(change())

    assert [r.url.path for r in vendor.requests] == [TOKEN_PATH, CONTACT_PATH]


def test_a_second_401_after_the_refresh_is_not_retried() -> None:
    sf, vendor = target(org(set()), BOTH)

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    failed = caught.value
    assert failed.retryable is False
    assert failed.status_code == 401
    assert failed.error_code == "INVALID_SESSION_ID"
    assert len(vendor.token_requests()) == 1
    assert len(vendor.api_requests()) == 2


def test_a_static_token_alone_cannot_be_refreshed() -> None:
    sf, vendor = target(error(401, "INVALID_SESSION_ID", "Session expired or invalid"))

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    assert caught.value.retryable is False
    assert caught.value.error_code == "INVALID_SESSION_ID"
    assert len(vendor.requests) == 1


def test_refused_client_credentials_are_not_retried() -> None:
    refused = {"error": "invalid_client", "error_description": "invalid client credentials"}
    sf, vendor = target(org({FRESH_TOKEN}, lambda _r: httpx.Response(400, json=refused)), CLIENT)

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    failed = caught.value
    assert failed.retryable is False
    assert failed.error_code == "invalid_client"
    assert "invalid client credentials" in str(failed)
    assert vendor.api_requests() == []


def test_an_unreachable_token_endpoint_is_an_outage() -> None:
    def down(_request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    sf, _vendor = target(org({FRESH_TOKEN}, down), CLIENT)

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    assert caught.value.retryable is True
    assert caught.value.target_down is True


def test_a_token_endpoint_503_is_an_outage() -> None:
    sf, _vendor = target(org({FRESH_TOKEN}, lambda _r: httpx.Response(503)), CLIENT)

    with pytest.raises(CrmWriteFailed) as caught:
        sf.write(change())

    assert caught.value.retryable is True
    assert caught.value.target_down is True
    assert caught.value.status_code == 503


def test_credentials_from_env_reads_a_static_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (CLIENT_ID_ENV, CLIENT_SECRET_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(TOKEN_ENV, f"  {TOKEN}  ")

    assert credentials_from_env() == SalesforceCredentials(access_token=TOKEN)


def test_credentials_from_env_reads_client_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setenv(CLIENT_ID_ENV, "3MVG9-consumer-key")
    monkeypatch.setenv(CLIENT_SECRET_ENV, "consumer-secret")

    assert credentials_from_env() == CLIENT


@pytest.mark.parametrize("present", [(), (CLIENT_ID_ENV,), (CLIENT_SECRET_ENV,)])
def test_credentials_from_env_is_none_without_a_usable_set(
    monkeypatch: pytest.MonkeyPatch, present: tuple[str, ...]
) -> None:
    for name in (TOKEN_ENV, CLIENT_ID_ENV, CLIENT_SECRET_ENV):
        monkeypatch.delenv(name, raising=False)
    for name in present:
        monkeypatch.setenv(name, "something")
    monkeypatch.setenv(TOKEN_ENV, "   ")  # blank counts as unset

    assert credentials_from_env() is None


def test_credentials_need_a_token_or_a_full_client_pair() -> None:
    with pytest.raises(ValueError, match=TOKEN_ENV):
        SalesforceCredentials(client_id="3MVG9-consumer-key")


def test_credentials_keep_secrets_out_of_repr() -> None:
    shown = repr(BOTH)

    assert TOKEN not in shown
    assert "consumer-secret" not in shown
    assert "3MVG9-consumer-key" in shown
