"""The referral program over HTTP: enrol, attribute by code, the review queue and its decisions, the summary."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import customers
from tests.api.support import AUTH
from tests.service.referrals.support import (
    configure,
    enrolled_pat,
    lead,
    referral_settings,
    rewards,
    sam_job,
    the_referral,
)
from tests.service.support import apply, at, job_event, only_customer, rows


@pytest.fixture
def settings() -> Settings:
    """The referral program on, only its sequences."""
    return referral_settings()


def _sam_id(runtime: Runtime) -> str:
    (row,) = rows(runtime, customers, customers.c.first_name == "Sam", customers.c.merged_into.is_(None))
    return str(row.id)


def test_enrol_a_referrer_once(runtime: Runtime, client: TestClient) -> None:
    apply(runtime, job_event(ev.JobCompleted, at(-60)))
    customer_id = only_customer(runtime).id

    first = client.post("/api/referrers", json={"customer_id": customer_id, "by": "Dana"}, headers=AUTH)
    again = client.post("/api/referrers", json={"customer_id": customer_id}, headers=AUTH)

    assert first.status_code == 201 and first.json()["created"] is True
    code = first.json()["code"]
    assert first.json()["link"] == f"https://example.com/r/{code}"
    assert (again.json()["created"], again.json()["code"]) == (False, code)
    missing = client.post("/api/referrers", json={"customer_id": "nobody"}, headers=AUTH)
    assert missing.status_code == 404
    assert client.post("/api/referrers", json={"customer_id": customer_id}).status_code == 401


def test_attribute_by_code_and_unknown_code(runtime: Runtime, client: TestClient) -> None:
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(None, at(0)), now=at(0))
    sam_id = _sam_id(runtime)

    unknown = client.post("/api/referrals", json={"customer_id": sam_id, "code": "QQQQQQ"}, headers=AUTH)
    made = client.post("/api/referrals", json={"customer_id": sam_id, "code": code, "by": "Dana"}, headers=AUTH)

    assert unknown.status_code == 404 and "QQQQQQ" in unknown.json()["detail"]
    assert made.status_code == 200
    assert (made.json()["status"], made.json()["captured_via"]) == ("pending", "csr")
    listed = client.get("/api/referrals", headers=AUTH).json()["items"]
    assert [(i["referrer_name"], i["referred_name"], i["status"]) for i in listed] == [
        ("Pat Doe", "Sam Lee", "pending")
    ]


def _in_review(runtime: Runtime) -> str:
    configure(runtime, require_approval=True)
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    return str(the_referral(runtime).id)


def test_approve_from_the_review_queue_rewards(runtime: Runtime, client: TestClient) -> None:
    referral_id = _in_review(runtime)
    queue = client.get("/api/referrals", params={"status": "review"}, headers=AUTH).json()["items"]
    assert [i["id"] for i in queue] == [referral_id]

    done = client.post(f"/api/referrals/{referral_id}/approve", json={"by": "Dana"}, headers=AUTH)

    assert done.status_code == 200 and done.json()["status"] == "rewarded"
    assert len(rewards(runtime)) == 1
    twice = client.post(f"/api/referrals/{referral_id}/approve", json={"by": "Dana"}, headers=AUTH)
    assert twice.status_code == 409
    assert client.post("/api/referrals/nope/approve", json={}, headers=AUTH).status_code == 404


def test_reject_needs_a_reason_and_means_no_reward(runtime: Runtime, client: TestClient) -> None:
    referral_id = _in_review(runtime)
    assert client.post(f"/api/referrals/{referral_id}/reject", json={"by": "Dana"}, headers=AUTH).status_code == 422

    done = client.post(
        f"/api/referrals/{referral_id}/reject", json={"by": "Dana", "reason": "same person"}, headers=AUTH
    )

    assert (done.json()["status"], done.json()["reason"]) == ("rejected", "same person")
    assert rewards(runtime) == []


def test_summary_figures(runtime: Runtime, client: TestClient) -> None:
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))

    summary = client.get("/api/referrals/summary", headers=AUTH).json()

    assert summary == {
        "referrers": 1,
        "referred": 1,
        "by_status": {"rewarded": 1},
        "qualified": 1,
        "rewards_issued": 1,
        "rewards_issued_cents": 5000,
        "rewards_pending": 0,
        "referred_revenue_cents": 45000,
        "qualification_rate": 1.0,
    }
