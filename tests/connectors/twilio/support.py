"""Twilio test helpers: the auth token, fixtures as form bodies, and requests signed with the SDK."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]  # the SDK ships no hints

TWILIO_TOKEN = "test-twilio-auth-token-0123456789"
FIXTURES = Path(__file__).with_name("fixtures")
PUBLIC_URL = "https://relay.example.com/webhooks/twilio"

SHOP_NUMBER = "+15125550100"
CUSTOMER_NUMBER = "+15125550142"


def params(name: str) -> dict[str, str]:
    """A fixture's POST parameters, in the order Twilio sends them."""
    data: dict[str, str] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def form_body(values: dict[str, str] | list[tuple[str, str]]) -> bytes:
    """The application/x-www-form-urlencoded body Twilio posts."""
    return urlencode(values).encode()


def signature(url: str, values: dict[str, str] | list[tuple[str, str]], token: str = TWILIO_TOKEN) -> str:
    """X-Twilio-Signature for a form post to ``url``, computed by the SDK (repeated names as the SDK reads them)."""
    pairs = list(values.items()) if isinstance(values, dict) else values
    multi = _Multi()
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    result: str = RequestValidator(token).compute_signature(url, multi)
    return result


def twilio_headers(
    url: str, values: dict[str, str] | list[tuple[str, str]], token: str = TWILIO_TOKEN
) -> dict[str, str]:
    """Headers of a signed Twilio form post."""
    return {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature(url, values, token)}


class _Multi(dict[str, list[str]]):
    def getlist(self, name: str) -> list[str]:
        return self[name]
