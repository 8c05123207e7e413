"""Tasks over HTTP: every kind listed with its owner and closed with an outcome, the filters (mine, overdue, kind,
status), another shop's tasks never shown, and 401 / 404 / 409 / 422 where they belong."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from tests.api.support import AUTH, another_shops_task
from tests.service.handoff.support import lead_at, shop_time
from tests.service.support import sim_clock
from tests.service.tasks.support import (
    SITUATIONS,
    add_task,
    closed_as,
    customer_id,
    open_task,
    service_recovery,
    tasks_settings,
    two_customers,
)


@pytest.fixture
def settings() -> Settings:
    """The task test shop."""
    return tasks_settings()


def listed(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    """GET /api/tasks with these query parameters; the items."""
    response = client.get("/api/tasks", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def kinds(items: list[dict[str, Any]]) -> list[str]:
    """The kinds of listed tasks, in order."""
    return [item["kind"] for item in items]


@pytest.mark.parametrize("name", sorted(SITUATIONS))
def test_each_kind_is_listed_with_its_owner_and_closed_with_an_outcome(
    runtime: Runtime, client: TestClient, name: str
) -> None:
    situation = SITUATIONS[name](runtime)

    (item,) = [i for i in listed(client) if i["id"] == situation.task_id]
    assert (item["kind"], item["owner"], item["assignee"], item["status"]) == (
        situation.kind,
        situation.owner,
        situation.owner,
        "open",
    )
    assert item["customer_name"] == "Pat Doe" and item["short_id"] == situation.task_id[:8] and item["due_at"]

    body = {"outcome": situation.outcome, "note": "Spoke at length", "by": "Al"}
    response = client.post(f"/api/tasks/{situation.task_id[:8]}/complete", json=body, headers=AUTH)

    assert response.status_code == 200, response.text
    done = response.json()
    assert (done["id"], done["status"], done["outcome"], done["closed_by"]) == (
        situation.task_id,
        "done",
        situation.outcome,
        "Al",
    )
    assert done["closed_at"] == sim_clock(runtime).now().isoformat().replace("+00:00", "Z") and done["effects"]
    closed_as(runtime, situation, by="Al")
    situation.check(runtime, situation)
    assert situation.task_id not in {i["id"] for i in listed(client)}
    (after,) = [i for i in listed(client, status="all") if i["id"] == situation.task_id]
    assert (after["status"], after["outcome"], after["note"], after["closed_by"]) == (
        "done",
        situation.outcome,
        "Spoke at length",
        "Al",
    )


def test_the_filters_mine_overdue_kind_status_role_and_customer(runtime: Runtime, client: TestClient) -> None:
    with runtime.engine.begin() as conn:
        another_shops_task(conn, assignee="Sam")
    two_customers(runtime)
    sim_clock(runtime).advance_to(shop_time(3, 9))  # Tuesday: the same-day follow-up and Amy's first response are late

    everything = listed(client)
    assert kinds(everything) == ["sop.first_response", "sop.followup.1", "sop.followup.2", "sop.followup.3"]
    assert [i["overdue"] for i in everything] == [True, True, False, False]
    assert [i["customer_name"] for i in everything] == ["Amy Lee", "Pat Doe", "Pat Doe", "Pat Doe"]
    assert kinds(listed(client, mine="Sam")) == ["sop.followup.1", "sop.followup.2", "sop.followup.3"]
    (amy,) = listed(client, mine="Olga")  # escalated to her
    assert (amy["owner"], amy["escalated_to"]) == ("Carla", "Olga")
    assert listed(client, mine="Dan") == []
    assert kinds(listed(client, overdue="true")) == ["sop.first_response", "sop.followup.1"]
    assert kinds(listed(client, overdue="true", mine="Sam")) == ["sop.followup.1"]
    assert kinds(listed(client, kind="sop.followup")) == ["sop.followup.1", "sop.followup.2", "sop.followup.3"]
    assert kinds(listed(client, kind="sop.followup.3")) == ["sop.followup.3"]
    assert kinds(listed(client, kind="sop.first_response", status="done")) == ["sop.first_response"]  # Pat's
    assert len(listed(client, status="all")) == 5
    assert listed(client, status="cancelled") == []
    assert kinds(listed(client, role="office")) == ["sop.first_response"]
    assert len(listed(client, customer_id=amy["customer_id"])) == 1
    assert "other-task" not in {i["id"] for i in listed(client, status="all", mine="Sam")}

    assert client.get("/api/tasks", params={"status": "paused"}, headers=AUTH).status_code == 422
    assert client.get("/api/tasks", params={"role": "janitor"}, headers=AUTH).status_code == 422
    assert client.get("/api/tasks").status_code == 401
    assert client.get("/api/tasks", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_a_sequence_task_nobody_on_the_team_holds_is_owned_by_its_role(runtime: Runtime, client: TestClient) -> None:
    # Without a team (the packaged sequences, no team: section) a service-recovery call is the operations role's.
    runtime.settings = runtime.settings.model_copy(update={"team": []})
    situation = service_recovery(runtime)
    (item,) = listed(client)
    assert (item["id"], item["assignee"], item["owner"]) == (situation.task_id, None, "operations")
    assert item["title"].endswith("(2/5)") and item["due_at"] == "2026-11-02T20:00:00Z" and item["job_id"]
    assert item["source"].startswith("seq:") and item["source"].endswith(":call") and item["deal_id"] is None
    assert [i["id"] for i in listed(client, mine="operations")] == [situation.task_id]


def test_unknown_closed_ambiguous_and_wrong_outcomes(runtime: Runtime, client: TestClient) -> None:
    lead_at(runtime, shop_time(2, 10))
    task = open_task(runtime, "sop.first_response")
    for task_id in ("abcd1111-0000-4000-8000-000000000000", "abcd2222-0000-4000-8000-000000000000"):
        add_task(runtime, task_id, customer_id(runtime), "rebooking.call", "sales", f"test:{task_id}")

    def complete(ref: str, outcome: str = "reached", note: str = "Spoke") -> Any:
        return client.post(f"/api/tasks/{ref}/complete", json={"outcome": outcome, "note": note}, headers=AUTH)

    unknown = complete("ffff9")
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no task 'ffff9'")
    ambiguous = complete("abcd")
    assert ambiguous.status_code == 422 and "abcd1111 (rebooking.call), abcd2222" in ambiguous.json()["detail"]
    wrong = complete(task.id, "plan_booked")
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == (
        "'plan_booked' is not an outcome of a sop.first_response task (one of: reached, left_message, no_answer)"
    )
    assert complete(task.id, note="").status_code == 422
    assert client.post(f"/api/tasks/{task.id}/complete", json={"outcome": "reached", "note": "x"}).status_code == 401

    assert complete(task.id).status_code == 200
    closed = complete(task.id)
    assert (closed.status_code, closed.json()["detail"]) == (409, f"task {task.id[:8]} is already done")
