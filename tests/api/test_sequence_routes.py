"""The follow-up over HTTP: enrolments with their next step and why they ended (tasks: test_task_routes.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.sequences.tables import enrollments
from fieldrelay.storage.tables import customers
from tests.api.support import AUTH, another_shops_task
from tests.conftest import START
from tests.service.sequences.support import at, job, library_settings, run_until
from tests.service.support import apply, rows


@pytest.fixture
def settings() -> Settings:
    """The default sequence library."""
    return library_settings()


def pat_id(runtime: Runtime) -> str:
    """The id of this shop's one customer."""
    (row,) = rows(runtime, customers, customers.c.account_id == runtime.settings.account_id)
    return str(row.id)


def another_shops_rows(runtime: Runtime) -> None:
    """A customer, an enrolment and a task of another account, which no list of this one may show."""
    with runtime.engine.begin() as conn:
        another_shops_task(conn, kind="service_recovery.call", role="operations")
        conn.execute(
            insert(enrollments).values(
                id="other-enrollment",
                account_id="other",
                sequence="satisfaction_check",
                subject_key="job:x",
                customer_id="other-customer",
                anchor_at=START,
                status="active",
                next_step=0,
                context={},
                enrolled_at=START,
                updated_at=START,
            )
        )


def test_enrollments_show_the_next_step_and_how_they_ended(client: TestClient, runtime: Runtime) -> None:
    another_shops_rows(runtime)
    apply(runtime, job(ev.JobCompleted, START))
    run_until(runtime, at(0.1))
    customer = pat_id(runtime)

    (item,) = client.get("/api/enrollments", params={"sequence": "satisfaction_check"}, headers=AUTH).json()["items"]
    assert item["customer_id"] == customer and item["status"] == "active"
    assert (item["next_step"], item["next_due_at"]) == ("ask", "2026-11-02T15:30:00Z")
    assert (item["last_step"], item["last_step_at"], item["exit_reason"]) == (None, None, None)
    assert item["enrolled_at"] == "2026-11-02T15:00:00Z"

    run_until(runtime, at(0.5))
    (done,) = client.get(
        "/api/enrollments", params={"status": "completed", "sequence": "satisfaction_check"}, headers=AUTH
    ).json()["items"]
    assert (done["id"], done["next_step"], done["next_due_at"]) == (item["id"], None, None)
    assert (done["last_step"], done["last_step_at"]) == ("ask", "2026-11-02T15:30:00Z")

    everything = client.get("/api/enrollments", params={"customer_id": customer}, headers=AUTH).json()["items"]
    assert {e["sequence"] for e in everything} == {"satisfaction_check", "seasonal_offer"}
    assert "other-enrollment" not in {e["id"] for e in client.get("/api/enrollments", headers=AUTH).json()["items"]}
    assert client.get("/api/enrollments", params={"customer_id": "nobody"}, headers=AUTH).json() == {"items": []}
    assert client.get("/api/enrollments", params={"status": "exited"}, headers=AUTH).json() == {"items": []}
    assert len(client.get("/api/enrollments", params={"limit": 1}, headers=AUTH).json()["items"]) == 1
    assert client.get("/api/enrollments", params={"status": "paused"}, headers=AUTH).status_code == 422
    assert client.get("/api/enrollments").status_code == 401
