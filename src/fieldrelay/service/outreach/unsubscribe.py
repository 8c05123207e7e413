"""Signed one-click unsubscribe links for marketing email: made at queue time, read back by the API."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadData, URLSafeSerializer

from fieldrelay.rules.config import Settings

SALT = "fieldrelay-unsubscribe"


@dataclass(frozen=True)
class Unsubscribe:
    """Who a link unsubscribes: the shop's account, the customer it was sent to, and the address."""

    account_id: str
    customer_id: str | None
    address: str


def _serializer(secret: str) -> URLSafeSerializer:
    # itsdangerous is the well-kept library for signed URL-safe tokens (HMAC, constant-time check); its plain
    # serializer carries no timestamp on purpose: an unsubscribe link must keep working for years.
    return URLSafeSerializer(secret, salt=SALT)


def unsubscribe_url(
    settings: Settings, secret: str | None, *, account_id: str, customer_id: str | None, address: str
) -> str | None:
    """The link under the public base URL, or None when the base URL or the signing secret is not set."""
    if not settings.public_base_url or not secret:
        return None
    token = _serializer(secret).dumps({"a": account_id, "c": customer_id, "e": address})
    return f"{settings.public_base_url.rstrip('/')}/unsubscribe/{token}"


def read_token(secret: str, token: str) -> Unsubscribe | None:
    """What a token unsubscribes, or None when its signature (or its content) is not one we made."""
    try:
        data = _serializer(secret).loads(token)
    except BadData:
        return None
    if not isinstance(data, dict):
        return None
    account_id, customer_id, address = data.get("a"), data.get("c"), data.get("e")
    if not isinstance(account_id, str) or not isinstance(address, str) or not address:
        return None
    if customer_id is not None and not isinstance(customer_id, str):
        return None
    return Unsubscribe(account_id=account_id, customer_id=customer_id, address=address)
