"""HubSpot outbound: contact upsert, deal and note, answered by a stand-in for HubSpot on ``httpx.MockTransport``."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import httpx
import pytest

from fieldrelay.connectors.hubspot.properties import contact_properties, to_property_value
from fieldrelay.connectors.hubspot.target import NAME, TOKEN_ENV, ContactInput, HubSpotTarget
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.crm import HubSpotSettings
from fieldrelay.service.crm.targets import UNMERGED, CrmNote, CrmWriteFailed
from tests.connectors.hubspot.support import (
    NOTE_CONTACT_LABELS,
    NOTE_DEAL_LABELS,
    PIPELINES,
    START,
    TOKEN,
    Answer,
    FakeHubSpot,
    change,
    estimate_deal,
    fixture,
    make_target,
    upserted,
)

UPSERT = ("POST", "/crm/v3/objects/contacts/batch/upsert")
DEALS = ("POST", "/crm/v3/objects/deals/batch/upsert")
PIPELINES_GET = ("GET", "/crm/v3/pipelines/deals")
NOTES = ("POST", "/crm/v3/objects/notes")
NOTE_CONTACT_LABELS_GET = ("GET", "/crm/v4/associations/notes/contacts/labels")
NOTE_DEAL_LABELS_GET = ("GET", "/crm/v4/associations/notes/deals/labels")


def deal_routes(contact_id: str = "901", deal_id: str = "4410") -> dict[tuple[str, str], list[Answer]]:
    """Routes for a write with a deal: contact upsert, pipelines, deal upsert, association."""
    return {
        UPSERT: [upserted(contact_id)],
        PIPELINES_GET: [httpx.Response(200, json=PIPELINES)],
        DEALS: [upserted(deal_id)],
        ("PUT", f"/crm/v4/objects/deals/{deal_id}/associations/default/contacts/{contact_id}"): [
            httpx.Response(200, json={"fromObjectTypeId": "0-3", "fromObjectId": int(deal_id), "labels": []})
        ],
    }


# --- one test per vendor fixture ---------------------------------------------------------------------------------


def test_contacts_batch_upsert_request_docs_template_is_the_shape_of_the_contact_upsert() -> None:
    template = fixture("contacts.batch-upsert.request.docs-template.json")
    fake = FakeHubSpot({UPSERT: [upserted("901")]})
    make_target(fake).write(change())

    (body,) = fake.bodies(*UPSERT)
    assert set(body) == set(template)
    (sent,) = body["inputs"]
    assert set(sent) <= set(template["inputs"][0])  # objectWriteTraceId is optional
    # By fieldrelay's id, not the email: a changed email must update this contact, not create another.
    assert sent["idProperty"] == "fieldrelay_id"
    assert sent["id"] == "cus_7f3a"
    assert sent["properties"] == {
        "firstname": "Dana",
        "lastname": "Whitfield",
        "email": "dana.whitfield@example.com",
        "phone": "+15125550143",
        "address": "4102 Speedway",
        "city": "Austin",
        "state": "TX",
        "zip": "78751",
        "fieldrelay_id": "cus_7f3a",
    }
    assert fake.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_contacts_batch_upsert_response_docs_template_gives_the_remote_id() -> None:
    response = fixture("contacts.batch-upsert.response.docs-template.json")
    fake = FakeHubSpot({UPSERT: [httpx.Response(200, json=response)]})

    result = make_target(fake).write(change())

    assert result.remote_id == response["results"][0]["id"]
    assert result.detail == f"contact {response['results'][0]['id']} upserted by fieldrelay_id"


def test_contacts_batch_update_response_docs_example_result_counts_despite_batch_errors() -> None:
    # A multi-status batch body: results and errors side by side; ours is in the results, so the write landed.
    fake = FakeHubSpot(
        {UPSERT: [httpx.Response(207, json=fixture("contacts.batch-update.response.docs-example.json"))]}
    )

    assert make_target(fake).write(change()).remote_id == "512"


def test_error_409_contact_already_exists_patches_the_existing_id() -> None:
    fake = FakeHubSpot(
        {
            UPSERT: [httpx.Response(409, json=fixture("error.409-contact-already-exists.json"))],
            ("PATCH", "/crm/v3/objects/contacts/37765128953"): [httpx.Response(200, json={"id": "37765128953"})],
        }
    )

    result = make_target(fake).write(change(fields={"last_job_total_cents": 48000}))

    assert result.remote_id == "37765128953"
    assert fake.calls() == [UPSERT, ("PATCH", "/crm/v3/objects/contacts/37765128953")]
    (patch,) = fake.bodies("PATCH", "/crm/v3/objects/contacts/37765128953")
    (upsert,) = fake.bodies(*UPSERT)
    assert patch == {"properties": upsert["inputs"][0]["properties"]}
    assert patch["properties"]["fieldrelay_last_job_total_cents"] == "48000"


def test_error_409_contact_already_exists_inside_a_207_batch_body_also_patches() -> None:
    conflict = fixture("error.409-contact-already-exists.json")
    body = {"status": "COMPLETE", "results": [], "numErrors": 1, "errors": [conflict]}
    fake = FakeHubSpot(
        {
            UPSERT: [httpx.Response(207, json=body)],
            ("PATCH", "/crm/v3/objects/contacts/37765128953"): [httpx.Response(200, json={"id": "37765128953"})],
        }
    )

    assert make_target(fake).write(change()).remote_id == "37765128953"


def test_error_429_daily_limit_docs_example_waits_until_midnight_and_stops_calling() -> None:
    fake = FakeHubSpot({UPSERT: [httpx.Response(429, json=fixture("error.429-daily-limit.docs-example.json"))]})
    target = make_target(fake)

    with pytest.raises(CrmWriteFailed) as failed:
        target.write(change())

    error = failed.value
    assert (error.retryable, error.target_down, error.status_code) == (True, True, 429)
    assert error.error_code == "DAILY"
    assert error.retry_after_seconds == 9 * 3600  # 15:00 UTC → next midnight UTC
    assert "daily limit" in str(error)
    with pytest.raises(CrmWriteFailed):
        target.write(change())
    assert len(fake.requests) == 1  # the second write never called


def test_error_429_secondly_observed_is_an_outage_with_retry_after() -> None:
    body = fixture("error.429-secondly.observed.json")
    fake = FakeHubSpot({UPSERT: [httpx.Response(429, json=body, headers={"Retry-After": "3"})]})

    with pytest.raises(CrmWriteFailed) as failed:
        make_target(fake).write(change())

    error = failed.value
    assert (error.retryable, error.target_down, error.status_code) == (True, True, 429)
    assert error.retry_after_seconds == 3.0
    assert error.error_code == "SECONDLY"


def test_error_429_secondly_observed_without_retry_after_waits_one_window() -> None:
    fake = FakeHubSpot({UPSERT: [httpx.Response(429, json=fixture("error.429-secondly.observed.json"))]})

    with pytest.raises(CrmWriteFailed) as failed:
        make_target(fake).write(change())

    assert failed.value.retry_after_seconds == 10.0


def test_error_schema_example_contacts_v3_spec_is_refused_without_retry() -> None:
    fake = FakeHubSpot({UPSERT: [httpx.Response(400, json=fixture("error.schema-example.contacts-v3-spec.json"))]})

    with pytest.raises(CrmWriteFailed) as failed:
        make_target(fake).write(change())

    error = failed.value
    assert (error.retryable, error.target_down, error.status_code) == (False, False, 400)
    assert "VALIDATION_ERROR" in str(error)
    assert "Invalid input" in str(error)
    assert len(str(error)) <= 300


def test_contact_create_with_association_docs_example_is_the_shape_of_the_note_associations() -> None:
    example = fixture("contact.create-with-association.docs-example.json")
    fake = FakeHubSpot(
        {
            UPSERT: [upserted("901")],
            NOTE_CONTACT_LABELS_GET: [httpx.Response(200, json=NOTE_CONTACT_LABELS)],
            NOTES: [httpx.Response(201, json={"id": "70001", "properties": {}})],
        }
    )
    note = CrmNote(at=datetime(2025, 3, 10, 14, 30, tzinfo=UTC), summary="Estimate #1042 sent: $1,234.50")

    result = make_target(fake).write(change(note=note))

    (body,) = fake.bodies(*NOTES)
    assert set(body) == set(example)
    (association,) = body["associations"]
    (expected,) = example["associations"]
    assert set(association) == set(expected)
    assert set(association["to"]) == set(expected["to"])
    assert association["to"]["id"] == "901"
    assert association["types"] == [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]
    assert set(association["types"][0]) == set(expected["types"][0])
    assert body["properties"]["hs_timestamp"] == "2025-03-10T14:30:00+00:00"
    assert body["properties"]["hs_note_body"].startswith("Estimate #1042 sent: $1,234.50")
    assert "crm.sync:hubspot:evt-0001" in body["properties"]["hs_note_body"]  # the change key in the footer
    assert result.detail == "contact 901 upserted by fieldrelay_id; note 70001 added"


# --- contacts ----------------------------------------------------------------------------------------------------


def test_a_contact_without_email_is_upserted_by_fieldrelay_id() -> None:
    fake = FakeHubSpot({UPSERT: [upserted("902")]})

    result = make_target(fake).write(change(email=None))

    (body,) = fake.bodies(*UPSERT)
    (sent,) = body["inputs"]
    assert (sent["idProperty"], sent["id"]) == ("fieldrelay_id", "cus_7f3a")
    assert "email" not in sent["properties"]
    assert result.remote_id == "902"


def test_mapped_fields_get_default_or_configured_names_and_string_values() -> None:
    fields = {
        "last_job_total_cents": 48000,
        "next_visit_at": datetime(2025, 4, 1, 13, 0, tzinfo=UTC),
        "member_since": date(2021, 6, 1),
        "tags": ["water heater", "vip"],
        "opted_in": True,
        "lead source": "Google LSA",
        "extra": {"b": 2, "a": 1},
        "unknown": None,
    }
    properties = contact_properties(change(fields=fields), {"tags": "hs_tags_custom"})

    assert properties["fieldrelay_last_job_total_cents"] == "48000"
    assert properties["fieldrelay_next_visit_at"] == "2025-04-01T13:00:00+00:00"
    assert properties["fieldrelay_member_since"] == "2021-06-01"
    assert properties["hs_tags_custom"] == "water heater;vip"
    assert properties["fieldrelay_opted_in"] == "true"
    assert properties["fieldrelay_lead_source"] == "Google LSA"
    assert properties["fieldrelay_extra"] == '{"a":1,"b":2}'
    assert properties["fieldrelay_unknown"] == "", "a field fieldrelay holds as empty is cleared at HubSpot"
    assert to_property_value(None) is None


def test_upsert_contacts_takes_a_batch_and_matches_results_by_id_value() -> None:
    results = [
        {"id": "2", "properties": {"email": "b@example.com"}},
        {"id": "1", "properties": {"email": "A@example.com"}},
    ]
    fake = FakeHubSpot({UPSERT: [httpx.Response(200, json={"status": "COMPLETE", "results": results})]})
    target = make_target(fake)

    ids = target.upsert_contacts(
        [
            ContactInput("email", "a@example.com", {"email": "a@example.com"}),
            ContactInput("email", "b@example.com", {"email": "b@example.com"}),
        ]
    )

    assert ids == ["1", "2"]
    (body,) = fake.bodies(*UPSERT)
    assert [i["id"] for i in body["inputs"]] == ["a@example.com", "b@example.com"]


# --- deals -------------------------------------------------------------------------------------------------------


def test_the_deal_stage_is_resolved_from_the_pipelines_once_across_writes() -> None:
    fake = FakeHubSpot(deal_routes())
    target = make_target(fake)

    first = target.write(change(deal=estimate_deal()))
    target.write(change(deal=estimate_deal()))

    assert fake.calls().count(PIPELINES_GET) == 1
    deal_body = fake.bodies(*DEALS)[0]
    assert deal_body == {
        "inputs": [
            {
                "id": "deal_91c2",
                "idProperty": "fieldrelay_deal_id",
                "properties": {
                    "dealname": "Dana Whitfield \N{EN DASH} fieldrelay",
                    "pipeline": "default",
                    "dealstage": "1029384",
                    "amount": "1234.50",
                },
            }
        ]
    }
    assert ("PUT", "/crm/v4/objects/deals/4410/associations/default/contacts/901") in fake.calls()
    assert first.remote_id == "901"
    assert first.detail == "contact 901 upserted by fieldrelay_id; deal 4410 at stage estimate_sent"


def test_a_pipeline_chosen_by_label_and_a_configured_stage_label_matched_case_insensitively() -> None:
    routes = deal_routes()
    fake = FakeHubSpot(routes)
    target = make_target(fake, pipeline="Service Agreements", stages={"renewal": "RENEWAL DUE"})

    target.write(change(deal=estimate_deal(stage="renewal", stage_name="Renewal")))

    properties = fake.bodies(*DEALS)[0]["inputs"][0]["properties"]
    assert (properties["pipeline"], properties["dealstage"]) == ("5551212", "5551213")


def test_an_unknown_stage_is_refused_without_retry_listing_the_known_labels() -> None:
    fake = FakeHubSpot(deal_routes())
    target = make_target(fake)
    target.write(change(deal=estimate_deal()))  # fills the cache

    with pytest.raises(CrmWriteFailed) as failed:
        target.write(change(deal=estimate_deal(stage="invoiced", stage_name="Invoiced")))

    error = failed.value
    assert error.retryable is False
    assert error.target_down is False
    assert "'Invoiced'" in str(error)
    assert "known: Appointment Scheduled, Estimate sent, Closed Won" in str(error)
    assert fake.calls().count(PIPELINES_GET) == 2  # a miss on the cache refreshes it once


# --- notes -------------------------------------------------------------------------------------------------------


def test_a_note_is_associated_with_contact_and_deal_by_the_labels_type_ids_read_once() -> None:
    routes = deal_routes()
    routes[NOTE_CONTACT_LABELS_GET] = [httpx.Response(200, json=NOTE_CONTACT_LABELS)]
    routes[NOTE_DEAL_LABELS_GET] = [httpx.Response(200, json=NOTE_DEAL_LABELS)]
    routes[NOTES] = [httpx.Response(201, json={"id": "70001"}), httpx.Response(201, json={"id": "70002"})]
    fake = FakeHubSpot(routes)
    target = make_target(fake)
    note = CrmNote(at=START, summary="Paid <in full>")

    target.write(change(deal=estimate_deal(), note=note))
    second = target.write(change(deal=estimate_deal(), note=note, key="crm.sync:hubspot:evt-0002"))

    first_body, second_body = fake.bodies(*NOTES)
    assert [(a["to"]["id"], a["types"][0]["associationTypeId"]) for a in first_body["associations"]] == [
        ("901", 202),
        ("4410", 214),
    ]
    assert first_body["properties"]["hs_note_body"].startswith("Paid &lt;in full&gt;")
    assert "evt-0002" in second_body["properties"]["hs_note_body"]
    assert fake.calls().count(NOTE_CONTACT_LABELS_GET) == 1
    assert fake.calls().count(NOTE_DEAL_LABELS_GET) == 1
    assert second.detail.endswith("note 70002 added")


# --- failures and construction -----------------------------------------------------------------------------------


def test_a_503_is_a_retryable_outage() -> None:
    fake = FakeHubSpot({UPSERT: [httpx.Response(503, text="Service Unavailable")]})

    with pytest.raises(CrmWriteFailed) as failed:
        make_target(fake).write(change())

    assert (failed.value.retryable, failed.value.target_down, failed.value.status_code) == (True, True, 503)


def test_a_transport_error_is_a_retryable_outage() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(CrmWriteFailed) as failed:
        make_target(timeout).write(change())

    assert (failed.value.retryable, failed.value.target_down) == (True, True)
    assert "ReadTimeout" in str(failed.value)


def test_a_401_is_not_retried_and_names_the_token() -> None:
    body = {"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"}
    fake = FakeHubSpot({UPSERT: [httpx.Response(401, json=body)]})

    with pytest.raises(CrmWriteFailed) as failed:
        make_target(fake).write(change())

    assert (failed.value.retryable, failed.value.target_down, failed.value.status_code) == (False, False, 401)
    assert TOKEN_ENV in str(failed.value)


def test_a_missing_token_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=TOKEN_ENV):
        HubSpotTarget(HubSpotSettings(), None, SimulatedClock(START))
    assert TOKEN_ENV == "FIELDRELAY_HUBSPOT_TOKEN"
    assert NAME == HubSpotTarget.name == "hubspot"


def test_a_merged_record_is_only_its_id_and_the_mark_and_an_undone_one_clears_the_mark() -> None:
    merged = replace(change(), contact=replace(change().contact, merged_into="cus_survivor"))
    assert contact_properties(merged, {}) == {"fieldrelay_id": "cus_7f3a", "fieldrelay_merged_into": "cus_survivor"}

    undone = replace(change(), event=UNMERGED)
    assert contact_properties(undone, {})["fieldrelay_merged_into"] == ""
    assert "fieldrelay_merged_into" not in contact_properties(change(), {}), "no mark property unless merges happen"


def test_consent_goes_only_to_properties_the_settings_name() -> None:
    stopped = replace(change(), contact=replace(change().contact, sms_opted_out=True))
    assert not {"sms_opted_out", "fieldrelay_sms_opted_out"} & set(contact_properties(stopped, {}))
    named = contact_properties(stopped, {"sms_opted_out": "hs_sms_stop", "email_opted_out": "hs_email_stop"})
    assert (named["hs_sms_stop"], named["hs_email_stop"]) == ("true", "false")


def test_removing_a_merged_record_reads_its_id_by_fieldrelay_id_then_archives_it() -> None:
    found = httpx.Response(200, json={"id": "901", "properties": {}})
    get = ("GET", "/crm/v3/objects/contacts/cus_7f3a")
    fake = FakeHubSpot({get: [found], ("DELETE", "/crm/v3/objects/contacts/901"): [httpx.Response(204)]})
    removed = replace(change(), remove=True, contact=replace(change().contact, merged_into="cus_survivor"))

    result = make_target(fake).write(removed)

    assert fake.calls() == [get, ("DELETE", "/crm/v3/objects/contacts/901")]
    assert fake.requests[0].url.params["idProperty"] == "fieldrelay_id"
    assert (result.remote_id, result.detail) == ("901", "contact 901 removed (merged record)")
    gone = FakeHubSpot({get: [httpx.Response(404, json={"status": "error", "message": "not found"})]})
    assert make_target(gone).write(removed).detail == "no HubSpot contact to remove (merged record)"
