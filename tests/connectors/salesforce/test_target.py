"""Salesforce outbound: requests the target builds and how it reads Salesforce's answers (httpx.MockTransport)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest

from fieldrelay.connectors.salesforce.auth import CLIENT_ID_ENV, CLIENT_SECRET_ENV, TOKEN_ENV, SalesforceCredentials
from fieldrelay.connectors.salesforce.target import NAME, SalesforceTarget
from fieldrelay.service.crm.targets import CrmContact, CrmDeal, CrmNote, CrmTarget
from tests.connectors.salesforce.support import (
    API,
    AT,
    CONTACT_ID,
    CONTACT_PATH,
    TASK_ID,
    TOKEN,
    answer,
    body_of,
    change,
    composite_ok,
    created,
    fixture,
    settings,
    target,
)

_REFERENCE = re.compile(r"@\{(\w+)\.(\w+)\}")


# --- fixtures -----------------------------------------------------------------------------------------------------


def test_upsert_by_external_id_request_is_a_flat_patch_like_the_docs_example() -> None:
    sf, vendor = target(created)

    sf.write(change())

    (request,) = vendor.requests
    assert request.method == "PATCH"
    assert request.url.path == CONTACT_PATH
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    sent = body_of(request)
    documented = fixture("upsert-by-external-id.request.json")
    # Same shape as Salesforce's example: one flat JSON object of API field names to scalar values.
    for body in (documented, sent):
        assert isinstance(body, dict)
        assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) for name in body)
        assert all(isinstance(value, str | int | float | bool) or value is None for value in body.values())
    assert sent == {
        "FirstName": "Dana",
        "LastName": "Whitfield",
        "Email": "dana@example.com",
        "Phone": "+15125550143",
        "MailingStreet": "4100 Duval St",
        "MailingCity": "Austin",
        "MailingState": "TX",
        "MailingPostalCode": "78751",
    }
    # The external id travels in the URL, never in the body.
    assert "FieldRelay_Id__c" not in sent


def test_upsert_by_external_id_response_201_gives_the_new_contacts_id() -> None:
    documented = fixture("upsert-by-external-id.response-201.json")
    sf, _vendor = target(answer(201, documented))

    result = sf.write(change())

    assert result.remote_id == documented["id"] == "00190000001pPvHAAU"
    assert "created" in result.detail


def test_composite_request_has_the_documented_shape() -> None:
    sf, vendor = target(composite_ok())

    sf.write(change(note=True))

    (request,) = vendor.requests
    assert request.method == "POST"
    assert request.url.path == f"{API}/composite"
    sent = body_of(request)
    documented = fixture("composite.request.json")
    allowed_keys = {key for sub in documented["compositeRequest"] for key in sub}
    assert allowed_keys == {"method", "url", "referenceId", "body"}
    assert sent["allOrNone"] is True
    assert set(sent) == set(documented) | {"allOrNone"}
    seen: set[str] = set()
    for sub in sent["compositeRequest"]:
        assert set(sub) <= allowed_keys
        assert {"method", "url", "referenceId"} <= set(sub)
        assert sub["url"].startswith("/services/data/v")
        # A reference names an earlier subrequest, with the syntax of the docs' "@{refAccount.id}".
        for ref, _field in _REFERENCE.findall(str(sub.get("body", ""))):
            assert ref in seen
        seen.add(sub["referenceId"])
    assert _REFERENCE.findall(str(documented["compositeRequest"][1]["body"])) == [("refAccount", "id")]
    contact, read_back, task = sent["compositeRequest"]
    assert contact == {
        "method": "PATCH",
        "url": CONTACT_PATH,
        "referenceId": "contact",
        "body": body_of_plain_upsert(),
    }
    assert read_back == {"method": "GET", "url": f"{CONTACT_PATH}?fields=Id", "referenceId": "contactId"}
    assert task["method"] == "POST"
    assert task["url"] == f"{API}/sobjects/Task"
    assert task["referenceId"] == "task"
    assert task["body"] == {
        "WhoId": "@{contactId.Id}",
        "Subject": "Job paid: water heater flush, $189.00",
        "Description": "Job paid: water heater flush, $189.00\n\nfieldrelay change "
        "cus_123:job.paid:job_9:2025-03-14T15:30:00+00:00",
        "ActivityDate": "2025-03-14",
        "Status": "Completed",
    }


def body_of_plain_upsert() -> dict[str, Any]:
    """The Contact body the no-note write sends, for comparison with the composite's first subrequest."""
    sf, vendor = target(created)
    sf.write(change())
    return dict(body_of(vendor.requests[0]))


# --- success paths ------------------------------------------------------------------------------------------------


def test_an_update_answered_204_succeeds_without_an_id() -> None:
    sf, _vendor = target(answer(204))

    result = sf.write(change())

    assert result.remote_id == "updated"


def test_an_update_answered_200_gives_the_contacts_id() -> None:
    sf, _vendor = target(answer(200, {"id": CONTACT_ID, "success": True, "errors": [], "created": False}))

    result = sf.write(change())

    assert result.remote_id == CONTACT_ID
    assert "updated" in result.detail


@pytest.mark.parametrize("contact_status", [201, 200, 204])
def test_a_composite_write_returns_the_contact_id_read_back(contact_status: int) -> None:
    sf, _vendor = target(composite_ok(contact_status))

    result = sf.write(change(note=True))

    assert result.remote_id == CONTACT_ID
    assert TASK_ID in result.detail
    assert ("created" in result.detail) is (contact_status == 201)


def test_the_target_meets_the_crm_target_protocol() -> None:
    sf: CrmTarget = target(created)[0]
    assert sf.name == NAME == "salesforce"


def test_a_long_summary_is_cut_for_the_subject_and_kept_whole_in_the_description() -> None:
    summary = "Estimate sent: " + "replace 50-gallon gas water heater, haul away old unit, new expansion tank " * 3
    sf, vendor = target(composite_ok())

    sf.write(change(note=CrmNote(at=AT, summary=summary)))

    task = body_of(vendor.requests[0])["compositeRequest"][2]["body"]
    assert len(task["Subject"]) <= 80
    assert task["Subject"].endswith("…")
    assert task["Description"].startswith(summary.strip())


# --- mapping ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "expected"), [("Dana", None, "Dana"), (None, None, "Unknown"), (None, "Whitfield", "Whitfield")]
)
def test_last_name_falls_back_to_the_first_name_then_unknown(
    first: str | None, last: str | None, expected: str
) -> None:
    sf, vendor = target(created)

    sf.write(change(contact=CrmContact(fieldrelay_id="cus_123", first_name=first, last_name=last)))

    sent = body_of(vendor.requests[0])
    assert sent["LastName"] == expected
    assert ("FirstName" in sent) is (first is not None)


def test_unknown_contact_details_are_left_out_not_blanked() -> None:
    sf, vendor = target(created)

    sf.write(change(contact=CrmContact(fieldrelay_id="cus_123", first_name="Dana", last_name="Whitfield")))

    assert body_of(vendor.requests[0]) == {"FirstName": "Dana", "LastName": "Whitfield"}


def test_unmapped_fields_are_not_sent_and_mapped_ones_are_serialised() -> None:
    fields = {
        "next_appointment_at": datetime(2025, 4, 1, 9, 0),
        "tags": ["vip", "water heater"],
        "balance_cents": 18900,
        "last_service_at": date(2025, 3, 14),
        "last_cancellation_reason": None,
        "service_type": "Plumbing",  # not mapped
    }
    mapping = {
        "next_appointment_at": "Next_Appointment__c",
        "tags": "Tags__c",
        "balance_cents": "Balance_Cents__c",
        "last_service_at": "Last_Service__c",
        "last_cancellation_reason": "Cancel_Reason__c",
    }
    sf, vendor = target(created, fields=mapping)

    sf.write(change(fields=fields))

    sent = body_of(vendor.requests[0])
    assert sent["Next_Appointment__c"] == "2025-04-01T09:00:00"
    assert sent["Tags__c"] == "vip; water heater"
    assert sent["Balance_Cents__c"] == 18900
    assert sent["Last_Service__c"] == "2025-03-14"
    assert sent["Cancel_Reason__c"] is None  # cleared in fieldrelay, cleared in Salesforce
    assert "service_type" not in sent and "Plumbing" not in sent.values()


def test_by_default_no_mapped_field_is_sent() -> None:
    sf, vendor = target(created)

    sf.write(change(fields={"service_type": "Plumbing", "tags": ["vip"]}))

    assert set(body_of(vendor.requests[0])) == {
        "FirstName",
        "LastName",
        "Email",
        "Phone",
        "MailingStreet",
        "MailingCity",
        "MailingState",
        "MailingPostalCode",
    }


def test_the_deal_stage_goes_to_a_contact_field_only_when_mapped() -> None:
    deal = CrmDeal(fieldrelay_id="deal_1", stage="estimate_sent", stage_name="Estimate sent", is_open=True)
    unmapped, plain = target(created)
    mapped, with_stage = target(created, fields={"deal_stage": "Deal_Stage__c"})

    unmapped.write(change(deal=deal))
    mapped.write(change(deal=deal))

    assert "Estimate sent" not in body_of(plain.requests[0]).values()
    assert body_of(with_stage.requests[0])["Deal_Stage__c"] == "Estimate sent"
    # No Opportunity is created: one call, to the Contact.
    assert [r.url.path for r in with_stage.requests] == [CONTACT_PATH]


def test_the_external_id_is_escaped_in_the_url() -> None:
    sf, vendor = target(created, external_id_field="FR_Customer__c")

    sf.write(change(contact=CrmContact(fieldrelay_id="cus/1 2", last_name="Whitfield")))

    assert vendor.requests[0].url.raw_path.decode() == f"{API}/sobjects/Contact/FR_Customer__c/cus%2F1%202"


# --- construction -------------------------------------------------------------------------------------------------


def test_missing_credentials_refuse_to_start_naming_the_env_vars() -> None:
    with pytest.raises(ValueError) as caught:
        SalesforceTarget(settings(), None)

    for name in (TOKEN_ENV, CLIENT_ID_ENV, CLIENT_SECRET_ENV):
        assert name in str(caught.value)


def test_a_missing_instance_url_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="instance_url"):
        SalesforceTarget(settings(instance_url=None), SalesforceCredentials(access_token=TOKEN))


def test_consent_and_the_merge_mark_go_to_the_fields_the_settings_name() -> None:
    mapping = {"sms_opted_out": "DoNotCall", "email_opted_out": "HasOptedOutOfEmail", "merged_into": "Merged_Into__c"}
    plain, unmapped = target(created)
    mapped, named = target(created, fields=mapping)
    stopped = change()
    stopped = replace(stopped, contact=replace(stopped.contact, sms_opted_out=True))

    plain.write(stopped)
    mapped.write(stopped)

    assert not {"DoNotCall", "HasOptedOutOfEmail", "Merged_Into__c"} & set(body_of(unmapped.requests[0]))
    sent = body_of(named.requests[0])
    # Merged_Into__c null: not merged (any more), which clears a mark an undone merge left.
    assert (sent["DoNotCall"], sent["HasOptedOutOfEmail"], sent["Merged_Into__c"]) == (True, False, None)


def test_a_merged_record_under_delete_is_deleted_by_its_external_id() -> None:
    sf, vendor = target(answer(204))
    removed = change()
    removed = replace(removed, remove=True, contact=replace(removed.contact, merged_into="cus_9"))

    result = sf.write(removed)

    (request,) = vendor.api_requests()
    assert (request.method, request.url.path, request.content) == ("DELETE", CONTACT_PATH, b"")
    assert result.detail == "Salesforce: Contact deleted (merged record)"
    gone, _ = target(answer(404, [{"message": "not found", "errorCode": "NOT_FOUND"}]))
    assert gone.write(removed).detail == "Salesforce: no Contact to delete (merged record)"
