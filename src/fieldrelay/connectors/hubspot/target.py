"""HubSpot outbound: each mapped change as a contact upsert, a deal in the shop's pipeline, a timeline note.

Vendor-published (verified against the API reference, not against a live portal):
- contacts: ``POST /crm/v3/objects/contacts/batch/upsert`` with ``{"inputs": [{"id", "idProperty", "properties"}]}``
  where ``id`` is the value of the unique property ``idProperty``
  (https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts);
  ``PATCH /crm/v3/objects/contacts/{contactId}`` updates one contact by id.
- deals: ``POST /crm/v3/objects/deals/batch/upsert`` the same way; stage and pipeline ids are per portal and read
  from ``GET /crm/v3/pipelines/deals`` (https://developers.hubspot.com/docs/api-reference/crm-pipelines-v3/guide);
  ``PUT /crm/v4/objects/deals/{dealId}/associations/default/contacts/{contactId}`` makes the unlabelled association
  (https://developers.hubspot.com/docs/api-reference/crm-associations-v4/guide).
- notes: ``POST /crm/v3/objects/notes`` with ``hs_timestamp``, ``hs_note_body`` and ``associations`` whose type ids
  come from ``GET /crm/v4/associations/notes/{contacts|deals}/labels`` (the ``HUBSPOT_DEFINED`` entry with no label;
  202 and 214 in the docs).
Unverified: the 409 "Contact already exists. Existing ID: <id>" body is a real response quoted in
HubSpot/hubspot-api-nodejs#545, not documented; we PATCH that id when a write meets it (from a 409, or inside a 207
batch result).

httpx rather than ``hubspot-api-client``: the SDK's generated clients sit on urllib3 with no transport to swap for
``httpx.MockTransport``, its retry middleware would retry under the outbox's own retries and circuit breaker, and it
does not hand back the X-HubSpot-RateLimit-* response headers the bucket in http.py runs on.

What the shop sets up in HubSpot (our choices, not vendor contract):
- a private app whose token is ``FIELDRELAY_HUBSPOT_TOKEN``, scopes ``crm.objects.contacts.read/write`` and
  ``crm.objects.deals.read/write`` (notes ride on the contacts scopes);
- contact property ``fieldrelay_id`` (single-line text, "unique value" on): contacts are upserted by it (a contact
  staff made with the same email answers with a conflict naming it, and is then updated by id);
- deal property ``fieldrelay_deal_id`` (single-line text, unique): deals are upserted by it;
- a contact property for each mapped field, ``fieldrelay_<field>`` unless ``hubspot.properties`` renames it
  (properties.py says how values are written);
- the pipeline ``hubspot.pipeline`` (id or label) whose stage labels match fieldrelay's stage names, or
  ``hubspot.stages`` mapping fieldrelay stage ids to the labels.

Notes are not idempotent: HubSpot notes have no unique property to upsert by and the search index lags writes by
seconds, so a search before creating would not catch a quick retry. The change's key is written in the note body's
footer (so a duplicate can be told apart), and a write retried after its note response was lost adds one duplicate
note. Every other step is an upsert or a PUT and repeats harmlessly.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from fieldrelay.connectors.hubspot.http import TOKEN_ENV, HubSpotHttp, existing_id, json_body
from fieldrelay.connectors.hubspot.properties import (
    DEAL_ID,
    FIELDRELAY_ID,
    contact_identity,
    contact_properties,
    deal_properties,
)
from fieldrelay.rules.crm import HubSpotSettings
from fieldrelay.service.clock import Clock
from fieldrelay.service.crm.targets import CrmChange, CrmDeal, CrmNote, CrmWriteFailed, CrmWriteResult

NAME = "hubspot"
__all__ = ["NAME", "TOKEN_ENV", "ContactInput", "HubSpotTarget"]

_NOTE_TO_CONTACT_DEFAULT = 202  # documented defaults, used only in the error text when the labels lack them
_NOTE_TO_DEAL_DEFAULT = 214


@dataclass(frozen=True)
class ContactInput:
    """One contact for the batch upsert: the unique property it is found by, its value there, what to write."""

    id_property: str
    id_value: str
    properties: dict[str, str]


@dataclass(frozen=True)
class _Pipeline:
    id: str
    label: str
    stages: dict[str, str]  # stage label, lower case → stage id
    labels: tuple[str, ...]  # the stage labels as HubSpot spells them, in pipeline order (for error messages)


class HubSpotTarget:
    """Writes each change to HubSpot: contact upsert, deal upsert and association, note with associations."""

    name = NAME

    def __init__(
        self,
        settings: HubSpotSettings,
        token: str | None,
        clock: Clock,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            # Refused at start-up rather than at each write: a worker that cannot reach the CRM should say so.
            raise ValueError(f"crm target hubspot needs {TOKEN_ENV} in the environment (a private app token)")
        self._settings = settings
        self._http = HubSpotHttp(settings.base_url, token, settings.request_timeout_seconds, clock, sleep, transport)
        # Read once for the life of the target (a miss refreshes once): both change only when an admin edits them.
        self._pipeline: _Pipeline | None = None
        self._note_types: dict[str, int] = {}

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def write(self, change: CrmChange) -> CrmWriteResult:
        """Upsert the contact, then the deal and its association, then add the note; CrmWriteFailed if one fails.

        A merged record under ``crm.on_merge: delete`` is removed instead (archived, in HubSpot's words).
        """
        if change.remove:
            return self._remove(change.contact.fieldrelay_id)
        id_property, id_value = contact_identity(change.contact)
        properties = contact_properties(change, self._settings.properties)
        (contact_id,) = self.upsert_contacts([ContactInput(id_property, id_value, properties)])
        parts = [f"contact {contact_id} upserted by {id_property}"]
        deal_id: str | None = None
        if change.deal is not None:
            deal_id = self._write_deal(change, change.deal, contact_id)
            parts.append(f"deal {deal_id} at stage {change.deal.stage}")
        if change.note is not None:
            note_id = self._write_note(change, change.note, contact_id, deal_id)
            parts.append(f"note {note_id} added")
        return CrmWriteResult(remote_id=contact_id, detail="; ".join(parts))

    def _remove(self, fieldrelay_id: str) -> CrmWriteResult:
        """Archive the contact holding ``fieldrelay_id``: read its id by the unique property, then DELETE it.

        ``GET /crm/v3/objects/contacts/{value}?idProperty=…`` and ``DELETE /crm/v3/objects/contacts/{id}``
        (https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/delete-crm-v3-objects-contacts-contactId).
        None there (404): nothing to remove, which is what a repeated removal finds.
        """
        path = f"/crm/v3/objects/contacts/{quote(fieldrelay_id, safe='')}?idProperty={FIELDRELAY_ID}"
        response = self._http.send("GET", path)
        if response.status_code == 404:
            return CrmWriteResult(remote_id="-", detail="no HubSpot contact to remove (merged record)")
        if not response.is_success:
            raise self._http.failure(response)
        payload = json_body(response)
        contact_id = str(payload["id"]) if isinstance(payload, dict) and "id" in payload else None
        if contact_id is None:
            raise CrmWriteFailed("HubSpot named no contact id for the merged record", retryable=False)
        self._http.call("DELETE", f"/crm/v3/objects/contacts/{contact_id}")
        return CrmWriteResult(remote_id=contact_id, detail=f"contact {contact_id} removed (merged record)")

    def upsert_contacts(self, contacts: Sequence[ContactInput]) -> list[str]:
        """The HubSpot ids of ``contacts``, in order, after upserting them (one batch call per idProperty)."""
        ids: dict[int, str] = {}
        by_property: dict[str, list[int]] = {}
        for index, contact in enumerate(contacts):
            by_property.setdefault(contact.id_property, []).append(index)
        for id_property, indexes in by_property.items():
            batch = [contacts[i] for i in indexes]
            for index, contact_id in zip(indexes, self._upsert_batch(id_property, batch), strict=True):
                ids[index] = contact_id
        return [ids[i] for i in range(len(contacts))]

    def _upsert_batch(self, id_property: str, batch: Sequence[ContactInput]) -> list[str]:
        """One batch upsert; a conflict naming an existing contact becomes a PATCH of that contact."""
        body = {
            "inputs": [
                {"id": contact.id_value, "idProperty": id_property, "properties": contact.properties}
                for contact in batch
            ]
        }
        response = self._http.send("POST", "/crm/v3/objects/contacts/batch/upsert", body)
        payload = json_body(response)
        if response.status_code == 409 or (response.is_success and _conflict(payload) and not _results(payload)):
            conflict = existing_id(_messages(payload))
            if conflict is not None and len(batch) == 1:
                self._http.call("PATCH", f"/crm/v3/objects/contacts/{conflict}", {"properties": batch[0].properties})
                return [conflict]
            if conflict is not None:
                # Which input the conflict belongs to is not said: settle them one by one.
                return [self._upsert_batch(id_property, [contact])[0] for contact in batch]
        if not response.is_success:
            raise self._http.failure(response)
        return _match_results(id_property, batch, payload)

    def _write_deal(self, change: CrmChange, deal: CrmDeal, contact_id: str) -> str:
        """Upsert the deal by fieldrelay_deal_id at the resolved stage and associate it with the contact."""
        pipeline_id, stage_id = self._stage(deal)
        body = {
            "inputs": [
                {
                    "id": deal.fieldrelay_id,
                    "idProperty": DEAL_ID,
                    "properties": deal_properties(change.contact, deal, pipeline_id, stage_id),
                }
            ]
        }
        payload = self._http.call("POST", "/crm/v3/objects/deals/batch/upsert", body)
        results = _results(payload)
        if not results:
            raise CrmWriteFailed(f"HubSpot deal upsert returned no result: {_messages(payload)[:200]}", retryable=False)
        deal_id = str(results[0]["id"])
        self._http.call("PUT", f"/crm/v4/objects/deals/{deal_id}/associations/default/contacts/{contact_id}")
        return deal_id

    def _stage(self, deal: CrmDeal) -> tuple[str, str]:
        """``(pipeline id, stage id)`` for the deal's stage; the pipelines are read again once on a miss."""
        label = self._settings.stages.get(deal.stage, deal.stage_name)
        was_cached = self._pipeline is not None
        pipeline = self._load_pipeline(refresh=False)
        if label.casefold() not in pipeline.stages and was_cached:
            pipeline = self._load_pipeline(refresh=True)  # a stage added or renamed since the cache was filled
        stage_id = pipeline.stages.get(label.casefold())
        if stage_id is not None:
            return pipeline.id, stage_id
        known = ", ".join(pipeline.labels) or "none"
        raise CrmWriteFailed(
            f"HubSpot pipeline {pipeline.label!r} has no stage labelled {label!r} (fieldrelay stage {deal.stage!r}); "
            f"known: {known}; set crm.hubspot.stages"[:300],
            retryable=False,
            error_code="unknown_stage",
        )

    def _load_pipeline(self, *, refresh: bool) -> _Pipeline:
        """The configured deals pipeline (matched by id or label), from the cache unless ``refresh``."""
        if self._pipeline is not None and not refresh:
            return self._pipeline
        payload = self._http.call("GET", "/crm/v3/pipelines/deals")
        wanted = self._settings.pipeline
        for item in _results(payload):
            if wanted in (str(item.get("id")), str(item.get("label"))):
                listed = [s for s in item.get("stages") or [] if isinstance(s, dict)]
                stages = {str(s["label"]).casefold(): str(s["id"]) for s in listed}
                labels = tuple(str(s["label"]) for s in listed)
                self._pipeline = _Pipeline(str(item["id"]), str(item.get("label")), stages, labels)
                return self._pipeline
        names = ", ".join(str(item.get("label")) for item in _results(payload)) or "none"
        raise CrmWriteFailed(
            f"HubSpot has no deals pipeline {wanted!r} (id or label); pipelines: {names}"[:300],
            retryable=False,
            error_code="unknown_pipeline",
        )

    def _write_note(self, change: CrmChange, note: CrmNote, contact_id: str, deal_id: str | None) -> str:
        """Create the note on the contact's (and deal's) timeline; the change key rides in the body's footer."""
        targets = [("contacts", contact_id)] + ([("deals", deal_id)] if deal_id is not None else [])
        associations = [
            {
                "to": {"id": object_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": self._note_type(kind)}],
            }
            for kind, object_id in targets
        ]
        body_html = f"{html.escape(note.summary)}<br><small>fieldrelay {html.escape(change.key)}</small>"
        body = {
            "properties": {"hs_timestamp": note.at.isoformat(), "hs_note_body": body_html},
            "associations": associations,
        }
        payload = self._http.call("POST", "/crm/v3/objects/notes", body)
        return str(payload["id"]) if isinstance(payload, dict) and "id" in payload else "?"

    def _note_type(self, to_object: str) -> int:
        """The HUBSPOT_DEFINED unlabelled association type id from notes to ``to_object`` (read once, cached)."""
        if to_object not in self._note_types:
            payload = self._http.call("GET", f"/crm/v4/associations/notes/{to_object}/labels")
            for item in _results(payload):
                if item.get("category") == "HUBSPOT_DEFINED" and item.get("label") is None:
                    self._note_types[to_object] = int(item["typeId"])
                    break
            else:
                default = _NOTE_TO_CONTACT_DEFAULT if to_object == "contacts" else _NOTE_TO_DEAL_DEFAULT
                raise CrmWriteFailed(
                    f"HubSpot lists no default note→{to_object} association (expected typeId {default})",
                    retryable=False,
                )
        return self._note_types[to_object]


def _results(payload: Any) -> list[dict[str, Any]]:
    """The ``results`` objects of a HubSpot list or batch body ([] when there are none)."""
    results = payload.get("results") if isinstance(payload, dict) else None
    return [item for item in results if isinstance(item, dict)] if isinstance(results, list) else []


def _messages(payload: Any) -> str:
    """Every error message in a HubSpot body (a single error, or a batch's ``errors``), joined."""
    if not isinstance(payload, dict):
        return ""
    messages = [str(payload.get("message") or "")]
    messages += [str(e.get("message") or "") for e in payload.get("errors") or [] if isinstance(e, dict)]
    return " | ".join(m for m in messages if m)


def _conflict(payload: Any) -> bool:
    """Whether the body reports a conflict naming an existing record's id."""
    return existing_id(_messages(payload)) is not None


def _match_results(id_property: str, batch: Sequence[ContactInput], payload: Any) -> list[str]:
    """The result id of each input: a batch of one takes the one result, larger batches match on the id value."""
    results = _results(payload)
    if len(batch) == 1 and len(results) == 1:
        return [str(results[0]["id"])]
    by_value = {
        str((r.get("properties") or {}).get(id_property, "")).casefold(): str(r["id"]) for r in results if "id" in r
    }
    ids = [by_value.get(contact.id_value.casefold()) for contact in batch]
    found = [i for i in ids if i is not None]
    if len(found) != len(batch):
        raise CrmWriteFailed(
            f"HubSpot contact upsert answered {len(results)} of {len(batch)}: {_messages(payload)[:200]}",
            retryable=False,
        )
    return found
