"""Salesforce outbound: each mapped change upserts the customer's Contact by external id, and logs the note as a Task.

Vendor-published (verified):

* Upsert by external id, https://developer.salesforce.com/docs/platform/api-rest/guide/dome-upsert.html:
  ``PATCH /services/data/vXX.X/sobjects/Contact/<external id field>/<value>`` with the field values as a flat JSON
  object creates the record when no record holds the value (201, ``{"id", "success", "errors"}``), updates it when one
  does, and answers 300 without writing when several do. An update answers 204 with no body in older API versions;
  newer versions answer 200 with the id (unverified here; both are handled).
* Composite, https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-composite-post.html and
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/responses_composite.htm:
  ``POST /services/data/vXX.X/composite`` with ``{"allOrNone": true, "compositeRequest": [{"method", "url",
  "referenceId", "body"}]}``; a later subrequest reads an earlier one's answer with ``@{referenceId.Field}``; the
  answer is 200 with ``{"compositeResponse": [{"body", "httpHeaders", "httpStatusCode", "referenceId"}]}``, and with
  allOrNone one failed subrequest rolls all of them back (the others then answer 400).
* Status codes and the error body: see errors.py; the token: see auth.py.

Our choices (not vendor contract):

* A change without a note is one upsert. A change with a note is one composite call (counted as one API request
  toward the org's limit, as we read Salesforce's composite page; unverified here) of three subrequests: the
  Contact upsert, ``GET`` of the Contact's ``Id`` by the same external id, and the Task whose ``WhoId`` is
  ``@{contactId.Id}``. The GET is there because an upsert that only updates may answer
  204 with no body, and then ``@{contact.id}`` would not resolve; reading the record back works on every version.
* A retried change repeats the upsert harmlessly (same external id, same values), but a change whose successful
  answer was lost (timeout, crash after the call) adds a second Task: Task has no external id to upsert on, and its
  ``Description`` (which carries the change key) is a long text field SOQL cannot filter on. Accepted: a duplicate
  timeline line is cheaper than a Task external-id field every shop would have to create.
* With no note, a 204 update gives no Contact id: the result's ``remote_id`` is then ``"updated"``.
* 401: the token is fetched again once (client credentials only) and the call repeated; a second 401 needs a person.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from fieldrelay.connectors.salesforce.auth import (
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    TOKEN_ENV,
    SalesforceCredentials,
    TokenSource,
)
from fieldrelay.connectors.salesforce.body import contact_fields, task_fields
from fieldrelay.connectors.salesforce.errors import PROCESSING_HALTED, failure, first_error, short
from fieldrelay.rules.crm import SalesforceSettings
from fieldrelay.service.crm.targets import CrmChange, CrmNote, CrmWriteFailed, CrmWriteResult

NAME = "salesforce"
CONTACT_REF = "contact"
CONTACT_ID_REF = "contactId"
TASK_REF = "task"
UPDATED = "updated"  # remote_id of a 204 update, which names no record


class SalesforceTarget:
    """Writes each change to Salesforce: the Contact upserted by external id, plus a completed Task for the note."""

    name = NAME

    def __init__(
        self,
        settings: SalesforceSettings,
        credentials: SalesforceCredentials | None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # Refused here rather than at each write: a worker that cannot reach Salesforce should not start.
        if not settings.instance_url:
            raise ValueError("crm target salesforce needs salesforce.instance_url (https://yourorg.my.salesforce.com)")
        if credentials is None:
            raise ValueError(
                f"crm target salesforce needs {TOKEN_ENV}, or {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}, "
                "in the environment"
            )
        self._settings = settings
        self._api = f"/services/data/{settings.api_version}"
        self._http = httpx.Client(
            base_url=settings.instance_url.rstrip("/"),
            transport=transport,
            timeout=settings.request_timeout_seconds,
            headers={"Accept": "application/json"},
        )
        self._tokens = TokenSource(credentials, self._http)

    def write(self, change: CrmChange) -> CrmWriteResult:
        """Upsert the Contact (and add the note's Task); raise CrmWriteFailed when it did not land.

        A merged record under ``crm.on_merge: delete`` is deleted by its external id instead (``DELETE`` on the same
        sObject-rows-by-external-id path; 404: already gone).
        """
        if change.remove:
            return self._delete(change.contact.fieldrelay_id)
        fields = contact_fields(change, self._settings.fields)
        if change.note is None:
            return self._upsert(change.contact.fieldrelay_id, fields)
        return self._composite(change, fields, change.note)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def contact_path(self, fieldrelay_id: str) -> str:
        """The Contact's sObject-rows-by-external-id path (the id is URL-escaped: it sits in a path segment)."""
        field = self._settings.external_id_field
        return f"{self._api}/sobjects/Contact/{field}/{quote(fieldrelay_id, safe='')}"

    def _delete(self, fieldrelay_id: str) -> CrmWriteResult:
        """Delete the Contact holding ``fieldrelay_id``; a Contact already gone is what a repeated delete finds."""
        response = self._call("DELETE", self.contact_path(fieldrelay_id), None)
        if response.status_code in (200, 204):
            return CrmWriteResult(remote_id=UPDATED, detail="Salesforce: Contact deleted (merged record)")
        if response.status_code == 404:
            return CrmWriteResult(remote_id="-", detail="Salesforce: no Contact to delete (merged record)")
        raise failure(response.status_code, _json(response), "Contact delete", response.text)

    def _upsert(self, fieldrelay_id: str, fields: dict[str, Any]) -> CrmWriteResult:
        """One PATCH upsert of the Contact."""
        response = self._call("PATCH", self.contact_path(fieldrelay_id), fields)
        status = response.status_code
        if status == 204:
            return CrmWriteResult(remote_id=UPDATED, detail="Salesforce 204: Contact updated")
        body = _json(response)
        if status in (200, 201):
            # The write landed: never fail from here on, or the worker would write it again.
            remote_id = str(body.get("id") or UPDATED) if isinstance(body, dict) else UPDATED
            verb = "created" if status == 201 else "updated"
            return CrmWriteResult(remote_id=remote_id, detail=f"Salesforce {status}: Contact {remote_id} {verb}")
        raise failure(status, body, "Contact upsert", response.text)

    def composite_body(self, change: CrmChange, fields: dict[str, Any], note: CrmNote) -> dict[str, Any]:
        """The composite request: upsert the Contact, read its Id back, add the Task, all or none."""
        contact = self.contact_path(change.contact.fieldrelay_id)
        return {
            "allOrNone": True,
            "compositeRequest": [
                {"method": "PATCH", "url": contact, "referenceId": CONTACT_REF, "body": fields},
                {"method": "GET", "url": f"{contact}?fields=Id", "referenceId": CONTACT_ID_REF},
                {
                    "method": "POST",
                    "url": f"{self._api}/sobjects/Task",
                    "referenceId": TASK_REF,
                    "body": task_fields(note, change.key, f"@{{{CONTACT_ID_REF}.Id}}"),
                },
            ],
        }

    def _composite(self, change: CrmChange, fields: dict[str, Any], note: CrmNote) -> CrmWriteResult:
        """One composite call; any failed subrequest fails the write (allOrNone rolled the others back)."""
        response = self._call("POST", f"{self._api}/composite", self.composite_body(change, fields, note))
        status = response.status_code
        body = _json(response)
        if status != 200:
            raise failure(status, body, "composite", response.text)
        results = body.get("compositeResponse") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise CrmWriteFailed(short(f"Salesforce composite answered 200 without compositeResponse: {response.text}"))
        by_ref = {str(r.get("referenceId")): r for r in results if isinstance(r, dict)}
        failed = [r for r in by_ref.values() if _status_of(r) >= 300]
        if failed:
            # The subrequest that failed for its own reason, not the ones halted because of it.
            cause = next((r for r in failed if first_error(r.get("body"))[0] != PROCESSING_HALTED), failed[0])
            raise failure(_status_of(cause), cause.get("body"), f"composite {cause.get('referenceId')}")
        missing = [ref for ref in (CONTACT_REF, CONTACT_ID_REF, TASK_REF) if ref not in by_ref]
        if missing:
            raise CrmWriteFailed(short(f"Salesforce composite answer lacks subrequests {', '.join(missing)}"))
        read_back = by_ref[CONTACT_ID_REF].get("body")
        contact_id = str(read_back.get("Id") or "") if isinstance(read_back, dict) else ""
        task = by_ref[TASK_REF].get("body")
        task_id = str(task.get("id") or "") if isinstance(task, dict) else ""
        verb = "created" if _status_of(by_ref[CONTACT_REF]) == 201 else "updated"
        return CrmWriteResult(
            remote_id=contact_id or UPDATED, detail=f"Salesforce composite: Contact {contact_id} {verb}, Task {task_id}"
        )

    def _call(self, method: str, url: str, body: dict[str, Any] | None) -> httpx.Response:
        """Send one API call with the current token; on 401 fetch a new token once and send it again."""
        response = self._send(method, url, body, self._tokens.token())
        if response.status_code == 401:
            fresh = self._tokens.refresh()
            if fresh is not None:
                response = self._send(method, url, body, fresh)
        return response

    def _send(self, method: str, url: str, body: dict[str, Any] | None, token: str) -> httpx.Response:
        """One HTTP request; network trouble is a retryable outage."""
        try:
            return self._http.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError as exc:
            # A timeout after Salesforce took the call may mean it landed; the retry repeats it (see the docstring).
            raise CrmWriteFailed(
                short(f"Salesforce unreachable: {type(exc).__name__}: {exc}"), retryable=True, target_down=True
            ) from exc


def _json(response: httpx.Response) -> Any:
    """The response's JSON body, or None when it has none or it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def _status_of(result: dict[str, Any]) -> int:
    """A composite subresult's httpStatusCode (0 when absent: treated as a success only if nothing else failed)."""
    try:
        return int(result.get("httpStatusCode") or 0)
    except (TypeError, ValueError):
        return 0
