"""Shared pieces of the Salesforce tests: settings, a change, canned answers and a stand-in for Salesforce."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from fieldrelay.connectors.salesforce.auth import SalesforceCredentials
from fieldrelay.connectors.salesforce.target import SalesforceTarget
from fieldrelay.rules.crm import SalesforceSettings
from fieldrelay.service.crm.targets import CrmChange, CrmContact, CrmNote
from tests.helpers import RecordingVendor

FIXTURES = Path(__file__).parent / "fixtures"
INSTANCE = "https://rapidrooter.my.salesforce.com"
API = "/services/data/v62.0"
CONTACT_PATH = f"{API}/sobjects/Contact/FieldRelay_Id__c/cus_123"
CONTACT_ID = "0035g00000XyZabAAB"
TASK_ID = "00T5g00000AbCdeEAF"
TOKEN = "00Dxx0000001gPL!static-token"
FRESH_TOKEN = "00Dxx0000001gPL!fresh-token"
AT = datetime(2025, 3, 14, 15, 30, tzinfo=UTC)

Handler = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    """A fixture file's JSON."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def settings(**changes: Any) -> SalesforceSettings:
    """Salesforce settings for the test org."""
    values: dict[str, Any] = {"instance_url": INSTANCE}
    values.update(changes)
    return SalesforceSettings(**values)


def change(*, note: bool | CrmNote = False, **changes: Any) -> CrmChange:
    """A change about Dana Whitfield of Austin, with the note of a paid job when ``note`` is True (or that note)."""
    if note is True:
        note = CrmNote(at=AT, summary="Job paid: water heater flush, $189.00")
    values: dict[str, Any] = {
        "key": "cus_123:job.paid:job_9:2025-03-14T15:30:00+00:00",
        "account_id": "acct_1",
        "event": "job.paid",
        "occurred_at": AT,
        "contact": CrmContact(
            fieldrelay_id="cus_123",
            first_name="Dana",
            last_name="Whitfield",
            email="dana@example.com",
            phone="+15125550143",
            street="4100 Duval St",
            city="Austin",
            state="TX",
            postal_code="78751",
        ),
        "note": note or None,
    }
    values.update(changes)
    return CrmChange(**values)


class FakeSalesforce(RecordingVendor):
    """Answers with ``handler`` and keeps every request it saw."""

    def api_requests(self) -> list[httpx.Request]:
        """The REST API calls, token requests left out."""
        return [r for r in self.requests if r.url.path != "/services/oauth2/token"]

    def token_requests(self) -> list[httpx.Request]:
        """The client-credentials token requests."""
        return [r for r in self.requests if r.url.path == "/services/oauth2/token"]


def target(
    handler: Handler,
    credentials: SalesforceCredentials | None = None,
    **setting_changes: Any,
) -> tuple[SalesforceTarget, FakeSalesforce]:
    """A target talking to a fake Salesforce (a static token unless other credentials are given)."""
    vendor = FakeSalesforce(handler)
    creds = credentials if credentials is not None else SalesforceCredentials(access_token=TOKEN)
    return SalesforceTarget(settings(**setting_changes), creds, httpx.MockTransport(vendor)), vendor


def answer(status: int, body: Any = None) -> Handler:
    """Always the same answer."""
    if body is None:
        return lambda _request: httpx.Response(status)
    return lambda _request: httpx.Response(status, json=body)


def error(status: int, code: str, message: str, fields: list[str] | None = None) -> Handler:
    """Salesforce's error body: a list of one ``{message, errorCode, fields}``."""
    return answer(status, [{"message": message, "errorCode": code, "fields": fields or []}])


def created(_request: httpx.Request) -> httpx.Response:
    """The documented 201 of an upsert that created the record."""
    return httpx.Response(201, json={"id": CONTACT_ID, "errors": [], "success": True})


def composite_ok(contact_status: int = 200) -> Handler:
    """A composite answer where all three subrequests succeeded."""

    def handler(_request: httpx.Request) -> httpx.Response:
        contact_body = None if contact_status == 204 else {"id": CONTACT_ID, "success": True, "errors": []}
        return httpx.Response(
            200,
            json={
                "compositeResponse": [
                    {
                        "body": contact_body,
                        "httpHeaders": {},
                        "httpStatusCode": contact_status,
                        "referenceId": "contact",
                    },
                    {
                        "body": {"attributes": {"type": "Contact"}, "Id": CONTACT_ID},
                        "httpHeaders": {},
                        "httpStatusCode": 200,
                        "referenceId": "contactId",
                    },
                    {
                        "body": {"id": TASK_ID, "success": True, "errors": []},
                        "httpHeaders": {"Location": f"{API}/sobjects/Task/{TASK_ID}"},
                        "httpStatusCode": 201,
                        "referenceId": "task",
                    },
                ]
            },
        )

    return handler


def body_of(request: httpx.Request) -> Any:
    """A request's JSON body."""
    return json.loads(request.content)
