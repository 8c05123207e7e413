"""A fieldrelay change in Salesforce's words: the Contact's field values and the Task that records the note.

Standard fields (Contact: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contact.htm,
Task: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm):
Contact ``FirstName``, ``LastName`` (required), ``Email``, ``Phone``, ``Mailing{Street,City,State,PostalCode}``;
Task ``WhoId`` (the Contact), ``Subject``, ``Description``, ``ActivityDate`` (a date), ``Status``.

Our choices (not vendor contract):

* ``LastName`` is required when a Contact is created, and one PATCH cannot tell a create from an update, so it is
  always sent: the customer's last name, else their first name, else ``"Unknown"``. A staff-entered last name is
  therefore overwritten when fieldrelay only knows a first name.
* The phone goes to ``Phone``, not ``MobilePhone``: fieldrelay holds one number per customer without knowing its kind.
* Contact details fieldrelay does not know (None) are left out rather than sent as null, so they never blank what
  staff typed into Salesforce.
* Mapped CRM fields (``change.fields``) are sent only when ``salesforce.fields`` names their Contact field: an org
  refuses the whole write for a field it does not have (INVALID_FIELD), and fieldrelay's names are not Salesforce
  API names. A mapped field whose value is None is sent as null, which clears it, as it did in fieldrelay.
* A mapped field fieldrelay cleared is sent as null: in a JSON PATCH a null value is how the REST API empties a field
  (the SOAP API's ``fieldsToNull`` list is its XML counterpart;
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm). A field the
  field mapping says never to clear is not in the change at all.
* Consent goes to the fields ``salesforce.fields`` names for ``sms_opted_out`` and ``email_opted_out`` (the standard
  ``DoNotCall`` and ``HasOptedOutOfEmail`` fit), and the merge mark to the one it names for ``merged_into`` (null
  when the record is not merged, which clears it after an undo); nothing is sent for them otherwise.
* The deal stage is sent only when ``salesforce.fields`` maps ``deal_stage`` (to a Contact field the shop created),
  with the stage's name; Opportunities are not created (one needs an Account, which a household customer lacks).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from fieldrelay.service.crm.targets import CONSENT_FIELDS, MERGED_INTO, CrmChange, CrmNote

DEAL_STAGE = "deal_stage"  # the pseudo field of salesforce.fields that receives the deal's stage name
UNKNOWN_LAST_NAME = "Unknown"
SUBJECT_CHARS = 80  # Task.Subject holds 255; a short subject reads better in the activity timeline
LIST_SEPARATOR = "; "


def contact_fields(change: CrmChange, field_names: Mapping[str, str]) -> dict[str, Any]:
    """The Contact's field values for an upsert (the external-id field itself travels in the URL, not here)."""
    contact = change.contact
    body: dict[str, Any] = {}
    if contact.first_name:
        body["FirstName"] = contact.first_name
    body["LastName"] = contact.last_name or contact.first_name or UNKNOWN_LAST_NAME
    standard = {
        "Email": contact.email,
        "Phone": contact.phone,
        "MailingStreet": contact.street,
        "MailingCity": contact.city,
        "MailingState": contact.state,
        "MailingPostalCode": contact.postal_code,
    }
    body.update({name: value for name, value in standard.items() if value})
    for name in CONSENT_FIELDS:
        if field_names.get(name):
            body[field_names[name]] = bool(getattr(contact, name))
    if field_names.get(MERGED_INTO):
        body[field_names[MERGED_INTO]] = contact.merged_into
    for name, value in change.fields.items():
        target = field_names.get(name)
        if target:
            body[target] = json_value(value)
    stage_field = field_names.get(DEAL_STAGE)
    if stage_field and change.deal is not None:
        body[stage_field] = change.deal.stage_name
    return body


def task_fields(note: CrmNote, key: str, who_id: str) -> dict[str, Any]:
    """A completed Task on the Contact's activity timeline; the change key in the Description traces it back."""
    summary = note.summary.strip()
    subject = summary.splitlines()[0] if summary else "fieldrelay update"
    if len(subject) > SUBJECT_CHARS:
        subject = subject[: SUBJECT_CHARS - 1].rstrip() + "…"
    return {
        "WhoId": who_id,
        "Subject": subject,
        "Description": f"{summary}\n\nfieldrelay change {key}",
        "ActivityDate": note.at.date().isoformat(),
        "Status": "Completed",
    }


def json_value(value: Any) -> Any:
    """A mapped field's value as Salesforce takes it: ISO dates and times, lists joined with "; ", the rest as is."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list | tuple | set | frozenset):
        # A multi-select picklist takes its values joined with ";"; a text field reads "; " well too.
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return LIST_SEPARATOR.join(_text(item) for item in items if item is not None)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    return str(value)


def _text(item: Any) -> str:
    """One list item as text."""
    converted = json_value(item)
    return converted if isinstance(converted, str) else json.dumps(converted)
