"""Stand-ins for the three outside CRMs that keep what they are told, so a test can read a record back as it stands.

Each answers the real connector's calls (through ``httpx.MockTransport``), can refuse the next writes (a 400, or a
422 at the webhook receiver) or be down (503), and shows a record the same way whatever its target (``View``): the
primary email and phone, the last name, the deal's stage name, the next appointment, the merge mark, SMS consent.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx

from fieldrelay.connectors.webhook_out.signing import verify
from fieldrelay.rules.pipeline import Pipeline
from fieldrelay.service.clock import Clock

SF_API = "/services/data/v62.0"
SF_CONTACT = f"{SF_API}/sobjects/Contact/FieldRelay_Id__c/"
WEBHOOK_SECRET = "whsec-standin"
UNAVAILABLE = {"status": "error", "message": "Service Unavailable", "category": "SERVICE_UNAVAILABLE"}


@dataclass
class View:
    """One record at the target, in the same words for every target ("" and None both mean empty)."""

    exists: bool
    email: str | None = None
    phone: str | None = None
    last_name: str | None = None
    stage: str | None = None
    next_appointment_at: str | None = None
    merged_into: str | None = None
    sms_opted_out: bool | None = None


def _empty(value: Any) -> Any:
    """None for an empty value (HubSpot clears with "", Salesforce and the webhook with null)."""
    return None if value in ("", None) else value


@dataclass
class StandIn:
    """What every stand-in shares: scripted refusals and outages, and the stage names written, per record, in order."""

    refuse_next: int = 0
    down: bool = False
    writes: int = 0
    stages: dict[str, list[str]] = field(default_factory=dict)  # fieldrelay id → stage names as written, in order

    def trouble(self) -> httpx.Response | None:
        """The scripted outage or refusal for this call, if any."""
        if self.down:
            return httpx.Response(503, json=UNAVAILABLE)
        if self.refuse_next:
            self.refuse_next -= 1
            return self.refusal()
        return None

    def refusal(self) -> httpx.Response:
        """The target's refusal of one record."""
        raise NotImplementedError

    def wrote_stage(self, fieldrelay_id: str, stage: str | None) -> None:
        if stage is not None:
            self.stages.setdefault(fieldrelay_id, []).append(stage)


class HubSpotStandIn(StandIn):
    """Contacts and deals upserted by their unique property with their properties kept; archive by id."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__()
        self.contacts: dict[str, dict[str, str]] = {}  # fieldrelay_id → properties
        self.deals: dict[str, dict[str, str]] = {}  # fieldrelay_deal_id → properties
        self.deal_of: dict[str, str] = {}  # fieldrelay_id → fieldrelay_deal_id (the association)
        self.notes: list[tuple[str, str]] = []  # (fieldrelay_id, body)
        self._ids = itertools.count(1001)
        self._hs_ids: dict[str, str] = {}  # "contact:<fieldrelay_id>" / "deal:<deal id>" → HubSpot id
        self._by_hs: dict[str, str] = {}
        self._stage_names = {f"s-{s.id}": s.name for s in pipeline.stages}
        self._pipelines = {
            "results": [
                {
                    "id": "default",
                    "label": "Sales Pipeline",
                    "stages": [{"id": f"s-{s.id}", "label": s.name} for s in pipeline.stages],
                }
            ]
        }

    def refusal(self) -> httpx.Response:
        message = 'Property values were not valid: [{"isValid":false,"message":"invalid value"}]'
        return httpx.Response(400, json={"status": "error", "message": message, "category": "VALIDATION_ERROR"})

    def _hs_id(self, key: str) -> str:
        if key not in self._hs_ids:
            self._hs_ids[key] = str(next(self._ids))
            self._by_hs[self._hs_ids[key]] = key
        return self._hs_ids[key]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        route = (request.method, request.url.path)
        body: Any = json.loads(request.content) if request.content else None
        if route == ("GET", "/crm/v3/pipelines/deals"):
            return httpx.Response(200, json=self._pipelines)
        if request.method == "GET" and "/crm/v4/associations/notes/" in request.url.path:
            type_id = 202 if request.url.path.endswith("/contacts/labels") else 214
            return httpx.Response(
                200, json={"results": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]}
            )
        if route == ("POST", "/crm/v3/objects/contacts/batch/upsert"):
            failed = self.trouble()
            if failed is not None:
                return failed
            self.writes += 1
            results = []
            for item in body["inputs"]:
                assert item["idProperty"] == "fieldrelay_id"
                self.contacts.setdefault(item["id"], {}).update(item["properties"])
                results.append({"id": self._hs_id(f"contact:{item['id']}"), "properties": item["properties"]})
            return httpx.Response(200, json={"status": "COMPLETE", "results": results})
        if route == ("POST", "/crm/v3/objects/deals/batch/upsert"):
            item = body["inputs"][0]
            self.deals.setdefault(item["id"], {}).update(item["properties"])
            return httpx.Response(200, json={"results": [{"id": self._hs_id(f"deal:{item['id']}")}]})
        if request.method == "PUT" and "/associations/default/contacts/" in request.url.path:
            parts = request.url.path.split("/")
            deal = self._by_hs[parts[5]].removeprefix("deal:")
            contact = self._by_hs[parts[-1]].removeprefix("contact:")
            self.deal_of[contact] = deal
            self.wrote_stage(contact, self._stage_names.get(self.deals[deal].get("dealstage", "")))
            return httpx.Response(200, json={"status": "COMPLETE", "results": []})
        if route == ("POST", "/crm/v3/objects/notes"):
            contact = self._by_hs[str(body["associations"][0]["to"]["id"])].removeprefix("contact:")
            self.notes.append((contact, body["properties"]["hs_note_body"]))
            return httpx.Response(201, json={"id": str(next(self._ids))})
        if request.method == "GET" and request.url.params.get("idProperty") == "fieldrelay_id":
            wanted = unquote(request.url.path.rsplit("/", 1)[-1])
            if wanted not in self.contacts:
                return httpx.Response(
                    404, json={"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}
                )
            return httpx.Response(200, json={"id": self._hs_id(f"contact:{wanted}")})
        if request.method == "DELETE" and request.url.path.startswith("/crm/v3/objects/contacts/"):
            contact = self._by_hs[request.url.path.rsplit("/", 1)[-1]].removeprefix("contact:")
            self.contacts.pop(contact, None)
            self.writes += 1
            return httpx.Response(204)
        return httpx.Response(404, json={"status": "error", "message": f"no route {route}", "category": "NOT_FOUND"})

    def view(self, fieldrelay_id: str) -> View:
        props = self.contacts.get(fieldrelay_id)
        if props is None:
            return View(exists=False)
        deal = self.deals.get(self.deal_of.get(fieldrelay_id, ""), {})
        consent = props.get("sms_consent_opted_out")
        return View(
            exists=True,
            email=_empty(props.get("email")),
            phone=_empty(props.get("phone")),
            last_name=_empty(props.get("lastname")),
            stage=self._stage_names.get(deal.get("dealstage", "")),
            next_appointment_at=_empty(props.get("fieldrelay_next_appointment_at")),
            merged_into=_empty(props.get("fieldrelay_merged_into")),
            sms_opted_out=None if consent is None else consent == "true",
        )


class SalesforceStandIn(StandIn):
    """Contacts upserted by the external-id field (one PATCH, or inside a composite call), deleted by it; Tasks."""

    def __init__(self) -> None:
        super().__init__()
        self.contacts: dict[str, dict[str, Any]] = {}  # FieldRelay_Id__c → fields
        self.tasks: list[tuple[str, str]] = []  # (FieldRelay_Id__c, Subject)

    def refusal(self) -> httpx.Response:
        error = {"message": "Phone: invalid value", "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "fields": []}
        return httpx.Response(400, json=[error])

    def _upsert(self, fieldrelay_id: str, fields: dict[str, Any]) -> int:
        new = fieldrelay_id not in self.contacts
        if new and not fields.get("LastName"):
            return 400
        self.contacts.setdefault(fieldrelay_id, {}).update(fields)
        self.wrote_stage(fieldrelay_id, fields.get("Deal_Stage__c"))
        return 201 if new else 204

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body: Any = json.loads(request.content) if request.content else None
        if request.method in ("PATCH", "DELETE") and path.startswith(SF_CONTACT):
            failed = self.trouble()
            if failed is not None:
                return failed
            self.writes += 1
            fieldrelay_id = unquote(path.removeprefix(SF_CONTACT))
            if request.method == "DELETE":
                gone = self.contacts.pop(fieldrelay_id, None)
                return httpx.Response(204 if gone is not None else 404)
            status = self._upsert(fieldrelay_id, body)
            return httpx.Response(status, json={"id": "003X", "success": True, "errors": []} if status == 201 else None)
        if request.method == "POST" and path == f"{SF_API}/composite":
            failed = self.trouble()
            if failed is not None:
                return failed
            self.writes += 1
            contact_req, read_req, task_req = body["compositeRequest"]
            fieldrelay_id = unquote(contact_req["url"].removeprefix(SF_CONTACT))
            status = self._upsert(fieldrelay_id, contact_req["body"])
            self.tasks.append((fieldrelay_id, task_req["body"]["Subject"]))
            assert read_req["method"] == "GET"
            answers = [
                {"body": None, "httpHeaders": {}, "httpStatusCode": status, "referenceId": "contact"},
                {"body": {"Id": "003X"}, "httpHeaders": {}, "httpStatusCode": 200, "referenceId": "contactId"},
                {
                    "body": {"id": "00TX", "success": True},
                    "httpHeaders": {},
                    "httpStatusCode": 201,
                    "referenceId": "task",
                },
            ]
            return httpx.Response(200, json={"compositeResponse": answers})
        return httpx.Response(404, json=[{"message": f"no route {path}", "errorCode": "NOT_FOUND"}])

    def view(self, fieldrelay_id: str) -> View:
        fields = self.contacts.get(fieldrelay_id)
        if fields is None:
            return View(exists=False)
        return View(
            exists=True,
            email=_empty(fields.get("Email")),
            phone=_empty(fields.get("Phone")),
            last_name=_empty(fields.get("LastName")),
            stage=_empty(fields.get("Deal_Stage__c")),
            next_appointment_at=_empty(fields.get("Next_Appointment__c")),
            merged_into=_empty(fields.get("Merged_Into__c")),
            sms_opted_out=fields.get("DoNotCall"),
        )


class WebhookReceiver(StandIn):
    """A receiver as docs/crm.md tells one to be: checks the signature, keeps the highest sequence per record and
    drops a request with a lower one, removes a record a ``remove`` says to."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.records: dict[str, dict[str, Any]] = {}  # fieldrelay id → the last body applied
        self.sequences: dict[str, int] = {}
        self.dropped = 0
        self.applied_sequences: dict[str, list[int]] = {}

    def refusal(self) -> httpx.Response:
        return httpx.Response(422, text="phone is not valid")

    def __call__(self, request: httpx.Request) -> httpx.Response:
        failed = self.trouble()
        if failed is not None:
            return failed
        headers = request.headers
        assert verify(
            WEBHOOK_SECRET,
            headers["FieldRelay-Webhook-Id"],
            headers.get("FieldRelay-Webhook-Timestamp"),
            headers.get("FieldRelay-Signature"),
            request.content,
            self.clock.now(),
        ), "every request is signed"
        self.writes += 1
        body = json.loads(request.content)
        return self.receive(body)

    def receive(self, body: dict[str, Any]) -> httpx.Response:
        """Apply one body unless a newer state of its record was applied already."""
        fieldrelay_id = body["contact"]["fieldrelay_id"]
        if body["sequence"] < self.sequences.get(fieldrelay_id, 0):
            self.dropped += 1
            return httpx.Response(200)
        self.sequences[fieldrelay_id] = body["sequence"]
        self.applied_sequences.setdefault(fieldrelay_id, []).append(body["sequence"])
        if body["remove"]:
            self.records.pop(fieldrelay_id, None)
        else:
            # A field left out is one fieldrelay does not say (never written, or never to clear): kept; null clears.
            kept = self.records.get(fieldrelay_id, {}).get("fields", {})
            self.records[fieldrelay_id] = {**body, "fields": {**kept, **body["fields"]}}
        deal = body.get("deal")
        self.wrote_stage(fieldrelay_id, deal["stage_name"] if deal else None)
        return httpx.Response(204)

    def view(self, fieldrelay_id: str) -> View:
        body = self.records.get(fieldrelay_id)
        if body is None:
            return View(exists=False)
        contact, deal = body["contact"], body.get("deal")
        return View(
            exists=True,
            email=contact["email"],
            phone=contact["phone"],
            last_name=contact["last_name"],
            stage=deal["stage_name"] if deal else None,
            next_appointment_at=_empty(body["fields"].get("next_appointment_at")),
            merged_into=contact["merged_into"],
            sms_opted_out=contact["sms_opted_out"],
        )
