"""Jobber test helpers: fixtures, signed deliveries and a fake GraphQL API behind httpx.MockTransport."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from fieldrelay.connectors.jobber.inbound import JobberInbound
from fieldrelay.connectors.jobber.signature import compute_signature

JOBBER_SECRET = "jobber-test-client-secret"
TOKEN = "jobber-test-access-token"
URL = "https://api.getjobber.com/api/graphql"
VERSION = "2025-04-16"
FIXTURES = Path(__file__).with_name("fixtures")

Reply = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> dict[str, Any]:
    """A fixture: ``{"webhook": …, "response": …}``."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def webhook(name: str, **changes: Any) -> bytes:
    """The compact JSON body of a fixture's webhook, with ``webHookEvent`` fields changed."""
    body = fixture(name)["webhook"]
    body["data"]["webHookEvent"].update(changes)
    return json.dumps(body, separators=(",", ":")).encode()


def signed(body: bytes, secret: str = JOBBER_SECRET) -> tuple[bytes, dict[str, str]]:
    """Raw body and headers of a Jobber delivery."""
    return body, {"Content-Type": "application/json", "X-Jobber-Hmac-SHA256": compute_signature(secret, body)}


class FakeJobber:
    """Answers item queries from a table keyed by item id; unknown ids answer ``{"data": {<root>: null}}``."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.requests: list[httpx.Request] = []

    def add(self, item_id: str, *replies: Reply | dict[str, Any]) -> None:
        """Queue replies for ``item_id`` (dicts are 200 JSON); the last one keeps answering."""
        queue = self.replies.setdefault(item_id, [])
        for reply in replies:
            queue.append(_ok(reply) if isinstance(reply, dict) else reply)

    def add_fixture(self, name: str) -> None:
        """Answer the fixture's item with the fixture's response."""
        data = fixture(name)
        self.add(data["webhook"]["data"]["webHookEvent"]["itemId"], data["response"])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        sent = json.loads(request.content)
        item_id = sent["variables"]["id"]
        queue = self.replies.get(item_id)
        if not queue:
            match = re.search(r"\{\s*(\w+)\(id: \$id\)", sent["query"])
            return httpx.Response(200, json={"data": {match.group(1) if match else "item": None}})
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        return reply(request)

    def sent(self) -> list[dict[str, Any]]:
        """The JSON bodies of every request made."""
        return [json.loads(r.content) for r in self.requests]


def _ok(body: dict[str, Any]) -> Reply:
    return lambda _request: httpx.Response(200, json=body)


def connector(fake: FakeJobber, token: Callable[[], str | None] = lambda: TOKEN) -> JobberInbound:
    """The Jobber connector on the fake API."""
    client = httpx.Client(transport=httpx.MockTransport(fake))
    return JobberInbound(JOBBER_SECRET, client, graphql_url=URL, api_version=VERSION, token=token)
