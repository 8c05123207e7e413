"""Per-person API tokens: they act with the person's role (the permission table on every acting route), sign the
audit log with the person's name (the admin token: "admin"), and stop when revoked or when the person is disabled."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldrelay.api.app import create_app
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.access import accounts
from fieldrelay.service.access.permissions import Actor
from fieldrelay.service.access.ports import UserRecord
from tests.conftest import API_TOKEN
from tests.service.access.support import add_person, audit_entries
from tests.service.tasks.support import first_response, task_row, tasks_settings

ADMIN = {"Authorization": f"Bearer {API_TOKEN}"}
DONE = {"outcome": "reached", "note": "Booked Tuesday", "by": "someone else"}


@pytest.fixture
def settings() -> Settings:
    """The task test shop (Carla office, Dan dispatcher, Sam sales, Olga operations)."""
    return tasks_settings()


@pytest.fixture
def api(runtime: Runtime) -> Iterator[TestClient]:
    """The API app (no worker)."""
    with TestClient(create_app(runtime)) as client:
        yield client


def token_for(runtime: Runtime, user: UserRecord) -> dict[str, str]:
    """An Authorization header with a new token of ``user``."""
    with runtime.unit_of_work("default") as ctx:
        issued = accounts.issue_token(ctx.store, ctx.now, Actor("Olga", "operations", "cli"), user, "test")
    return {"Authorization": f"Bearer {issued.secret}"}


def test_a_csr_s_token_completes_her_task_signed_with_her_name(runtime: Runtime, api: TestClient) -> None:
    situation = first_response(runtime)
    carla = token_for(runtime, add_person(runtime, "Carla", "office"))

    response = api.post(f"/api/tasks/{situation.task_id}/complete", json=DONE, headers=carla)

    assert response.status_code == 200, response.text
    assert response.json()["closed_by"] == "Carla"  # the body's "by" does not speak for a person's token
    assert task_row(runtime, situation.task_id).closed_by == "Carla"
    (entry,) = audit_entries(runtime, "complete_task")
    assert (entry.actor, entry.actor_role, entry.via, entry.subject_id) == ("Carla", "office", "api", situation.task_id)
    assert entry.after == {"status": "done", "outcome": "reached", "note": "Booked Tuesday"}


def test_the_admin_token_is_recorded_as_admin(runtime: Runtime, api: TestClient) -> None:
    situation = first_response(runtime)

    assert api.post(f"/api/tasks/{situation.task_id}/complete", json=DONE, headers=ADMIN).status_code == 200

    (entry,) = audit_entries(runtime, "complete_task")
    assert (entry.actor, entry.via) == ("admin", "api")
    assert task_row(runtime, situation.task_id).closed_by == "someone else"  # as before: the admin names who did it


@pytest.mark.parametrize(
    "path",
    [
        "/api/merge-candidates/1/merge",
        "/api/merge-candidates/1/distinct",
        "/api/merges/1/undo",
        "/api/referrals/r1/reward",
        "/api/referrals/r1/approve",
        "/api/referrals/r1/reject",
        "/api/errors/outbox-1/retry",
        "/api/errors/outbox-1/dismiss",
        "/api/deals/d1/assign",
        "/api/deals/d1/outcome",
    ],
)
def test_a_csr_may_not_merge_decide_referrals_reward_replay_or_reassign(
    runtime: Runtime, api: TestClient, path: str
) -> None:
    carla = token_for(runtime, add_person(runtime, "Carla", "office"))
    body = {"to": "Dan", "outcome": "estimate_sent", "reason": "x"}

    response = api.post(path, json=body, headers=carla)

    assert response.status_code == 403, response.text
    assert "Carla (Office (CSR)) may not" in response.json()["detail"]
    assert [entry.action for entry in audit_entries(runtime)] == ["token.issue"]  # nothing else happened


def test_a_technician_reads_but_does_nothing(runtime: Runtime, api: TestClient) -> None:
    situation = first_response(runtime)
    tech = token_for(runtime, add_person(runtime, "Ray", "technician"))

    assert api.get("/api/tasks", headers=tech).status_code == 200
    assert api.post(f"/api/tasks/{situation.task_id}/complete", json=DONE, headers=tech).status_code == 403
    assert api.post("/api/team", json={"name": "Zed", "role": "sales"}, headers=tech).status_code == 403
    assert task_row(runtime, situation.task_id).status == "open"


def test_a_token_stops_when_revoked_or_its_person_is_disabled(runtime: Runtime, api: TestClient) -> None:
    carla_user = add_person(runtime, "Carla", "office")
    carla, dan_user = token_for(runtime, carla_user), add_person(runtime, "Dan", "dispatcher")
    dan = token_for(runtime, dan_user)
    assert api.get("/api/tasks", headers=carla).status_code == 200

    with runtime.unit_of_work("default") as ctx:
        accounts.set_active(ctx.store, ctx.now, Actor("Olga", "operations", "web"), carla_user, False)
        (token,) = ctx.store.tokens_of(dan_user.id)
        accounts.revoke_token(ctx.store, ctx.now, Actor("Dan", "dispatcher", "web"), dan_user, token.id)

    assert api.get("/api/tasks", headers=carla).status_code == 401
    assert api.get("/api/tasks", headers=dan).status_code == 401


def test_a_person_s_token_works_without_an_admin_token_configured(
    runtime: Runtime, api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    carla = token_for(runtime, add_person(runtime, "Carla", "office"))
    monkeypatch.delenv("FIELDRELAY_API_TOKEN")

    assert api.get("/api/tasks", headers=carla).status_code == 200
    assert api.get("/api/tasks").status_code == 503
    assert api.get("/api/tasks", headers={"Authorization": "Bearer frp_forged"}).status_code == 503
