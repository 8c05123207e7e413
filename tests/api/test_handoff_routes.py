"""The lead handoff over HTTP: qualify, outcome, follow-ups, assign, the team and today's open-loop review."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from tests.api.support import AUTH
from tests.service.handoff.support import aware, deal, estimate_at, handoff_settings, lead_at, shop_time, sop_tasks
from tests.service.support import sim_clock


@pytest.fixture
def settings() -> Settings:
    """The handoff test shop."""
    return handoff_settings()


def test_qualify_refuses_with_the_reason_then_qualifies(runtime: Runtime, client: TestClient) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    url = f"/api/deals/{deal_id}/qualify"

    missing = client.post(url, json={"zip": "78701", "job_type": "Water heater"}, headers=AUTH)
    assert missing.status_code == 422 and missing.json()["detail"] == "cannot qualify without: requested time"
    away = client.post(url, json={"zip": "10001", "job_type": "Water heater", "when": "Tue AM"}, headers=AUTH)
    assert away.status_code == 422 and "outside the service area" in away.json()["detail"]

    done = client.post(
        url, json={"zip": "78702", "job_type": "Water heater", "when": "Tue AM", "by": "Dan"}, headers=AUTH
    )
    assert done.status_code == 200, done.text
    row = deal(runtime, deal_id)
    assert (row.stage, row.service_zip, row.owner) == ("qualified", "78702", "Dan")
    assert client.post("/api/deals/nope/qualify", json={}, headers=AUTH).status_code == 404
    assert client.post(url, json={}).status_code == 401


def test_outcome_followups_assign_and_review_today(runtime: Runtime, client: TestClient) -> None:
    added = client.post("/api/team", json={"name": "Rosa", "role": "sales", "reports_to": "Sam"}, headers=AUTH)
    assert added.json() == {"name": "Rosa", "created": True}
    refused = client.post("/api/team", json={"name": "Al", "role": "sales", "reports_to": "Nobody"}, headers=AUTH)
    assert refused.status_code == 422
    assert [m["name"] for m in client.get("/api/team", headers=AUTH).json()["items"]] == [
        "Carla",
        "Dan",
        "Olga",
        "Rosa",
        "Sam",
    ]

    deal_id = lead_at(runtime, shop_time(2, 10))
    no_date = client.post(f"/api/deals/{deal_id}/outcome", json={"outcome": "no_decision"}, headers=AUTH)
    assert no_date.status_code == 422 and "follow-up date" in no_date.json()["detail"]
    sent = client.post(f"/api/deals/{deal_id}/outcome", json={"outcome": "estimate_sent"}, headers=AUTH)
    assert sent.status_code == 200
    assert len([t for t in sop_tasks(runtime, deal_id, "open") if t.kind.startswith("sop.followup")]) == 3

    logged = client.post(
        f"/api/deals/{deal_id}/followups", json={"channel": "call", "note": "Left a voicemail"}, headers=AUTH
    )
    assert logged.status_code == 200
    assert [t.kind for t in sop_tasks(runtime, deal_id, "done")] == ["sop.first_response", "sop.followup.1"]

    unknown = client.post(f"/api/deals/{deal_id}/assign", json={"to": "Zed"}, headers=AUTH)
    assert unknown.status_code == 422 and "not on the team" in unknown.json()["detail"]
    moved = client.post(f"/api/deals/{deal_id}/assign", json={"to": "Rosa"}, headers=AUTH)
    assert moved.json() == {"deal_id": deal_id, "owner": "Rosa", "tasks_moved": 2}

    sim_clock(runtime).advance_to(shop_time(5, 9))
    (item,) = client.get("/api/review/today", headers=AUTH).json()["items"]
    assert (item["deal_id"], item["owner"], item["overdue"]) == (deal_id, "Rosa", True)
    assert item["next_action"] == "Follow up on the estimate (48 hours)"


def test_review_today_is_empty_without_open_estimates(runtime: Runtime, client: TestClient) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    assert client.get("/api/review/today", headers=AUTH).json() == {"items": []}
    (lead,) = client.get("/api/deals/open", headers=AUTH).json()["items"]
    assert (lead["deal_id"], lead["stage"], lead["owner"]) == (deal_id, "new_lead", "Carla")
    estimate_at(runtime, shop_time(2, 11))
    (item,) = client.get("/api/review/today", headers=AUTH).json()["items"]
    # The estimate answered the lead: the same-day follow-up is the next thing to do.
    assert (item["next_action"], aware_iso(item["due_at"])) == (
        "Follow up on the estimate (same day)",
        shop_time(2, 17),
    )


def aware_iso(value: str) -> datetime:
    """An ISO time from the API as an aware datetime."""
    return aware(datetime.fromisoformat(value))
