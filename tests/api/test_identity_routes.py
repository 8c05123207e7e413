"""The review queue over HTTP: list uncertain pairs, merge one, keep one apart, undo a merge; the customer detail."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from tests.api.support import AUTH
from tests.service.support import PAT_E164, apply, at, job_event, live_customers, pat


def queue_a_pair(runtime: Runtime) -> None:
    """Pat, booked through Housecall Pro, then a form with her phone and surname but no first name."""
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    unsure = ev.CustomerSnapshot(external_id="sub_1", last_name="Doe", phones=(PAT_E164,))
    apply(runtime, ev.LeadReceived(source="forms", occurred_at=at(-5), customer=unsure, lead_ref="sub_1"))


def test_the_review_queue_shows_both_records_and_the_evidence(client: TestClient, runtime: Runtime) -> None:
    queue_a_pair(runtime)
    (item,) = client.get("/api/merge-candidates", headers=AUTH).json()["items"]
    assert item["status"] == "open" and item["rule"] == "unconfirmed"
    assert item["customer"]["name"] == "Doe" and item["other"]["name"] == "Pat Doe"
    assert item["customer"]["phones"] == item["other"]["phones"] == [PAT_E164]
    assert {"field": "phone", "outcome": "shared", "weight": 5.0} in item["evidence"]
    assert client.get("/api/merge-candidates", params={"status": "merged"}, headers=AUTH).json() == {"items": []}
    assert client.get("/api/merge-candidates").status_code == 401


def test_merge_then_undo_over_http(client: TestClient, runtime: Runtime) -> None:
    queue_a_pair(runtime)
    (item,) = client.get("/api/merge-candidates", headers=AUTH).json()["items"]

    merged = client.post(f"/api/merge-candidates/{item['id']}/merge", json={"by": "dana"}, headers=AUTH)
    assert merged.status_code == 200
    merge_id = merged.json()["merge_id"]
    assert live_customers(runtime) == 1
    again = client.post(f"/api/merge-candidates/{item['id']}/merge", headers=AUTH)
    assert (again.status_code, again.json()["detail"]) == (409, f"merge candidate {item['id']} is already merged")
    (merge,) = client.get("/api/merges", params={"customer_id": item["other"]["id"]}, headers=AUTH).json()["items"]
    assert (merge["id"], merge["decided_by"], merge["merged_id"]) == (merge_id, "person:dana", item["customer"]["id"])
    gone = client.get(f"/api/customers/{item['customer']['id']}", headers=AUTH).json()
    assert gone["merged_into"] == item["other"]["id"]

    undone = client.post(f"/api/merges/{merge_id}/undo", headers=AUTH)
    assert undone.json() == {
        "merge_id": merge_id,
        "survivor_id": item["other"]["id"],
        "restored_id": item["customer"]["id"],
    }
    assert live_customers(runtime) == 2
    assert client.post(f"/api/merges/{merge_id}/undo", headers=AUTH).status_code == 409
    (back,) = client.get("/api/merge-candidates", headers=AUTH).json()["items"]
    assert back["id"] == item["id"]


def test_keeping_a_pair_apart_over_http(client: TestClient, runtime: Runtime) -> None:
    queue_a_pair(runtime)
    (item,) = client.get("/api/merge-candidates", headers=AUTH).json()["items"]
    response = client.post(f"/api/merge-candidates/{item['id']}/distinct", headers=AUTH)
    assert response.json() == {"candidate_id": item["id"], "status": "distinct"}
    assert client.get("/api/merge-candidates", headers=AUTH).json() == {"items": []}
    (kept,) = client.get("/api/merge-candidates", params={"status": "distinct"}, headers=AUTH).json()["items"]
    assert kept["decided_by"] == "api"
    assert client.post("/api/merge-candidates/999/merge", headers=AUTH).status_code == 404
    assert client.get("/api/customers/no-such-id", headers=AUTH).status_code == 404
