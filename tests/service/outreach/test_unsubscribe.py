"""Signed unsubscribe links: they read back to what was signed, and nothing else reads as one."""

from __future__ import annotations

import json

import pytest
from itsdangerous.encoding import base64_encode

from fieldrelay.rules.config import Settings
from fieldrelay.service.outreach.unsubscribe import Unsubscribe, read_token, unsubscribe_url

SECRET = "test-unsubscribe-secret"
BASE = "https://relay.example.com/"


def link(settings: Settings, secret: str | None = SECRET, customer_id: str | None = "cus-1") -> str | None:
    """A link for Pat signed with ``secret``, under the public base URL."""
    return unsubscribe_url(
        settings.model_copy(update={"public_base_url": BASE}),
        secret,
        account_id="default",
        customer_id=customer_id,
        address="pat@example.com",
    )


def token_of(url: str) -> str:
    prefix = "https://relay.example.com/unsubscribe/"
    assert url.startswith(prefix)
    return url.removeprefix(prefix)


@pytest.mark.parametrize("customer_id", ["cus-1", None])
def test_a_link_reads_back_to_what_was_signed(settings: Settings, customer_id: str | None) -> None:
    url = link(settings, customer_id=customer_id)
    assert url is not None
    assert read_token(SECRET, token_of(url)) == Unsubscribe("default", customer_id, "pat@example.com")


def test_a_tampered_token_or_another_secret_reads_as_nothing(settings: Settings) -> None:
    url = link(settings)
    assert url is not None
    token = token_of(url)
    _, _, signature = token.rpartition(".")
    someone_else = base64_encode(json.dumps({"a": "default", "c": "cus-1", "e": "sam@example.com"})).decode()
    assert read_token(SECRET, f"{someone_else}.{signature}") is None
    assert read_token(SECRET, f"x{token}") is None
    assert read_token("another-secret", token) is None
    assert read_token(SECRET, "not-a-token") is None


def test_no_link_without_a_public_base_url_or_a_secret(settings: Settings) -> None:
    assert settings.public_base_url is None
    no_base = unsubscribe_url(settings, SECRET, account_id="default", customer_id="c", address="pat@example.com")
    assert no_base is None
    assert link(settings, secret=None) is None
    assert link(settings, secret="") is None
