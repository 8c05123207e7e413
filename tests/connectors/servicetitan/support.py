"""ServiceTitan test helpers: the test key, fixtures and signed deliveries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fieldrelay.connectors.servicetitan.signature import Encoding, compute_signature

ST_SECRET = "st-test-hmac-key-0123456789abcdef0123456789"
FIXTURES = Path(__file__).with_name("fixtures")


def raw(name: str) -> bytes:
    """The bytes of a fixture file."""
    return (FIXTURES / f"{name}.json").read_bytes()


def load(name: str) -> dict[str, Any]:
    """A fixture as a dict, to vary in a test."""
    data: dict[str, Any] = json.loads(raw(name))
    return data


def encode(data: object) -> bytes:
    """Compact JSON bytes of a payload."""
    return json.dumps(data, separators=(",", ":")).encode()


def signed(
    body: dict[str, Any] | bytes,
    secret: str = ST_SECRET,
    encoding: Encoding = "base64",
    header: str = "ST-Signature",
) -> tuple[bytes, dict[str, str]]:
    """Raw body and headers of a ServiceTitan delivery signed with ``secret``."""
    data = body if isinstance(body, bytes) else encode(body)
    return data, {"Content-Type": "application/json", header: compute_signature(secret, data, encoding)}
