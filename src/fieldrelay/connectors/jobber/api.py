"""Fetching one item through Jobber's GraphQL API, with Jobber's throttling turned into ``TemporaryFailure``.

Published by Jobber: one POST endpoint, ``Authorization: Bearer <access token>`` (an invalid token answers 401),
``X-JOBBER-GRAPHQL-VERSION: <YYYY-MM-DD>`` (api_versioning), a DDoS guard answering HTTP 429 past 2,500 requests
per 5 minutes, and a leaky-bucket query-cost limit answering ``errors[].extensions.code == "THROTTLED"`` with
``extensions.cost.{requestedQueryCost, throttleStatus{maximumAvailable, currentlyAvailable, restoreRate}}`` where
``restoreRate`` is points restored per second (api_rate_limits).

Not published: how a missing item answers. ``null`` without errors, or errors that all say "not found", are read
as not found (``None``); any other error (a schema error after a version change, a missing scope) is temporary,
so an item is never silently dropped because the query itself is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from fieldrelay.connectors.jobber.auth import ACCESS_TOKEN_ENV
from fieldrelay.connectors.jobber.queries import ItemQuery
from fieldrelay.service.ports import ParseError, TemporaryFailure

VERSION_HEADER = "X-JOBBER-GRAPHQL-VERSION"
DEFAULT_RETRY_SECONDS = 60.0
MAX_RETRY_SECONDS = 3600.0
_NOT_FOUND_WORDS = ("not found", "could not find", "couldn't find")


def default_client(timeout_seconds: float) -> httpx.Client:
    """The HTTP client the registry gives the connector: the configured timeout, nothing else."""
    return httpx.Client(timeout=timeout_seconds)


class JobberApi:
    """Runs one item query; returns the item, None when it no longer exists, or raises TemporaryFailure."""

    def __init__(self, client: httpx.Client, url: str, api_version: str, token: Callable[[], str | None]) -> None:
        self._client = client
        self._url = url
        self._version = api_version
        self._token = token

    def fetch(self, query: ItemQuery, item_id: str) -> dict[str, Any] | None:
        """The item named ``item_id`` as a dict of the fields ``query`` asks for."""
        token = self._token()
        if not token:
            raise TemporaryFailure(f"{ACCESS_TOKEN_ENV} is not set")
        headers = {"Authorization": f"Bearer {token}", VERSION_HEADER: self._version, "Accept": "application/json"}
        try:
            response = self._client.post(
                self._url, json={"query": query.text, "variables": {"id": item_id}}, headers=headers
            )
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"Jobber API unreachable: {type(exc).__name__}: {exc}") from exc
        payload = _json(response)
        errors = _errors(payload)
        throttled = [e for e in errors if _code(e) == "THROTTLED"]
        if throttled:
            raise TemporaryFailure(_throttle_detail(payload), _throttle_seconds(payload))
        data = payload.get("data")
        item = data.get(query.root) if isinstance(data, dict) else None
        if item is None:
            if errors and not all(_says_not_found(e) for e in errors):
                raise TemporaryFailure("Jobber GraphQL error: " + "; ".join(_message(e) for e in errors[:3]))
            return None
        if not isinstance(item, dict):
            raise ParseError(f"Jobber answered '{query.root}' with {type(item).__name__}, not an object")
        return item


def _json(response: httpx.Response) -> dict[str, Any]:
    code = response.status_code
    if code == 429:
        raise TemporaryFailure("Jobber API rate limit (HTTP 429)", _retry_after(response))
    if code in (401, 403):
        raise TemporaryFailure(
            f"Jobber refused the access token (HTTP {code}): renew {ACCESS_TOKEN_ENV} or the app's read scopes"
        )
    if code != 200:
        raise TemporaryFailure(f"Jobber API answered HTTP {code}")
    try:
        payload = response.json()
    except ValueError as exc:
        raise TemporaryFailure("Jobber API answered with a body that is not JSON") from exc
    if not isinstance(payload, dict):
        raise TemporaryFailure("Jobber API answered with JSON that is not an object")
    return payload


def _errors(payload: Mapping[str, Any]) -> list[Any]:
    errors = payload.get("errors")
    return errors if isinstance(errors, list) else []


def _code(error: Any) -> str | None:
    extensions = error.get("extensions") if isinstance(error, dict) else None
    code = extensions.get("code") if isinstance(extensions, dict) else None
    return code if isinstance(code, str) else None


def _message(error: Any) -> str:
    message = error.get("message") if isinstance(error, dict) else None
    return str(message)[:300] if message is not None else "(no message)"


def _says_not_found(error: Any) -> bool:
    text = f"{_message(error)} {_code(error) or ''}".lower().replace("_", " ")
    return any(word in text for word in _NOT_FOUND_WORDS)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _cost(payload: Mapping[str, Any]) -> tuple[float | None, float | None, float | None, float | None]:
    extensions = payload.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    if not isinstance(cost, dict):
        return None, None, None, None
    status = cost.get("throttleStatus")
    status = status if isinstance(status, dict) else {}
    return (
        _number(cost.get("requestedQueryCost")),
        _number(status.get("currentlyAvailable")),
        _number(status.get("restoreRate")),
        _number(status.get("maximumAvailable")),
    )


def _throttle_seconds(payload: Mapping[str, Any]) -> float:
    """Seconds until enough points are restored for the query: (requested - available) / restoreRate."""
    requested, available, rate, _ = _cost(payload)
    if requested is None or available is None or rate is None or rate <= 0:
        return DEFAULT_RETRY_SECONDS
    return min(max(1.0, float(math.ceil((requested - available) / rate))), MAX_RETRY_SECONDS)


def _throttle_detail(payload: Mapping[str, Any]) -> str:
    requested, available, rate, maximum = _cost(payload)
    if requested is not None and maximum is not None and requested > maximum:
        return (
            f"Jobber throttled: the query costs {requested:g} points, more than the maximum {maximum:g} ever available"
        )
    if requested is None or available is None:
        return "Jobber throttled the query (no cost information)"
    return f"Jobber throttled: query costs {requested:g} points, {available:g} available, restoring {rate or 0:g}/s"


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return min(max(1.0, float(value)), MAX_RETRY_SECONDS)
    sent = response.headers.get("date")
    if value and sent:
        try:
            delta = (parsedate_to_datetime(value) - parsedate_to_datetime(sent)).total_seconds()
        except (TypeError, ValueError, IndexError, OverflowError):
            return DEFAULT_RETRY_SECONDS
        return min(max(1.0, delta), MAX_RETRY_SECONDS)
    return DEFAULT_RETRY_SECONDS
