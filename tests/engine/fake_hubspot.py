"""A HubSpot that keeps what it is sent (contacts, deals, notes) and can be down for a while, for the outage test."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from fieldrelay.rules.pipeline import Pipeline
from fieldrelay.service.clock import Clock

_FIXTURES = Path(__file__).parents[1] / "connectors" / "hubspot" / "fixtures"
# HubSpot's real answer when a private app spends its burst window (vendor fixture).
SECONDLY = json.loads((_FIXTURES / "error.429-secondly.observed.json").read_text(encoding="utf-8"))
UNAVAILABLE = {"status": "error", "message": "Service Unavailable", "category": "SERVICE_UNAVAILABLE"}


@dataclass(frozen=True)
class Note:
    """A note as HubSpot stored it: the contact it is on, its time and body."""

    contact_id: str
    at: str
    body: str


class StatefulHubSpot:
    """Upserts contacts and deals by their unique property, stores notes; answers 503 and 429 in turn while down."""

    def __init__(self, clock: Clock, pipeline: Pipeline) -> None:
        self.clock = clock
        self.down_until: datetime | None = None
        self.contacts: dict[str, str] = {}  # unique value → HubSpot id
        self.deals: dict[str, str] = {}
        self.notes: list[Note] = []
        self.refused = 0
        self._ids = itertools.count(1001)
        # Fieldrelay's stage names as the portal's stage labels: the shop set the pipeline up to match.
        self._pipelines = {
            "results": [
                {
                    "id": "default",
                    "label": "Sales Pipeline",
                    "stages": [{"id": f"s-{s.id}", "label": s.name} for s in pipeline.stages],
                }
            ]
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down_until is not None and self.clock.now() < self.down_until:
            self.refused += 1
            if self.refused % 2:
                return httpx.Response(503, json=UNAVAILABLE)
            return httpx.Response(429, json=SECONDLY, headers={"Retry-After": "10"})
        route = (request.method, request.url.path)
        body: Any = json.loads(request.content) if request.content else None
        if route == ("GET", "/crm/v3/pipelines/deals"):
            return httpx.Response(200, json=self._pipelines)
        if route == ("GET", "/crm/v4/associations/notes/contacts/labels"):
            return httpx.Response(
                200, json={"results": [{"category": "HUBSPOT_DEFINED", "typeId": 202, "label": None}]}
            )
        if route == ("GET", "/crm/v4/associations/notes/deals/labels"):
            return httpx.Response(
                200, json={"results": [{"category": "HUBSPOT_DEFINED", "typeId": 214, "label": None}]}
            )
        if route == ("POST", "/crm/v3/objects/contacts/batch/upsert"):
            return self._upsert(self.contacts, body)
        if route == ("POST", "/crm/v3/objects/deals/batch/upsert"):
            return self._upsert(self.deals, body)
        if request.method == "PUT" and "/associations/default/contacts/" in request.url.path:
            return httpx.Response(200, json={"status": "COMPLETE", "results": []})
        if route == ("POST", "/crm/v3/objects/notes"):
            contact_id = str(body["associations"][0]["to"]["id"])
            props = body["properties"]
            self.notes.append(Note(contact_id, props["hs_timestamp"], props["hs_note_body"]))
            return httpx.Response(201, json={"id": str(next(self._ids)), "properties": props})
        return httpx.Response(404, json={"status": "error", "message": f"no route {route}", "category": "NOT_FOUND"})

    def _upsert(self, store: dict[str, str], body: Any) -> httpx.Response:
        results = []
        for item in body["inputs"]:
            key = f"{item['idProperty']}={item['id'].casefold()}"
            new = key not in store
            object_id = store.setdefault(key, str(next(self._ids)))
            results.append({"id": object_id, "new": new, "properties": {item["idProperty"]: item["id"]}})
        return httpx.Response(200, json={"status": "COMPLETE", "results": results})
