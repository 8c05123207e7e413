"""Daily review without a browser: the list of the morning email and of GET /api/review/today (oldest first, owner,
next action, due time, overdue), a follow-up call and an assignment from a row with their audit entries, the roles
that may not, and the empty list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.server import build_app
from fieldrelay.service.handoff import review
from fieldrelay.service.handoff.first_response import sync_team
from tests.service.access.support import add_person, audit_entries
from tests.service.handoff.support import act, customer, deal, estimate_at, lead_at, shop_time, sop_tasks
from tests.service.support import sim_clock, timeline
from tests.service.tasks.support import tasks_settings
from tests.web.support import csrf_of, sign_in

PEOPLE = {"Carla": "office", "Dan": "dispatcher", "Sam": "sales", "Olga": "operations"}
AMY = customer("amy", "(512) 555-0100")


@pytest.fixture
def settings() -> Settings:
    """The handoff shop."""
    return tasks_settings()


@pytest.fixture
def client(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The server's app with the team in the database."""
    monkeypatch.setenv("FIELDRELAY_SESSION_SECRET", "test-session-secret")
    act(runtime, sync_team)
    with TestClient(build_app(runtime)) as test_client:
        yield test_client


def as_person(runtime: Runtime, client: TestClient, name: str) -> str:
    """Give ``name`` a sign-in, sign them in; the CSRF token of their review page."""
    add_person(runtime, name, PEOPLE[name])
    assert sign_in(client, name) == 303
    return csrf_of(client.get("/review").text)


def post(client: TestClient, path: str, token: str, **data: str) -> tuple[int, str]:
    """An htmx POST with the CSRF header; its status and body."""
    response = client.post(path, data=data, headers={"HX-Request": "true", "X-CSRF-Token": token})
    return response.status_code, response.text


def two_estimates(runtime: Runtime) -> tuple[str, str]:
    """Pat's estimate on Monday 11:00 and Amy's on Tuesday 11:00; it is Tuesday 17:00 (Pat's first follow-up is
    overdue, Amy's due at closing). The two deal ids."""
    pat_deal = lead_at(runtime, shop_time(2, 10))
    estimate_at(runtime, shop_time(2, 11))
    amy_deal = lead_at(runtime, shop_time(3, 10), AMY)
    estimate_at(runtime, shop_time(3, 11), AMY)
    sim_clock(runtime).advance_to(shop_time(3, 16, 30))
    return pat_deal, amy_deal


def test_the_list_is_the_morning_email_s_oldest_first(runtime: Runtime, client: TestClient) -> None:
    pat_deal, amy_deal = two_estimates(runtime)
    lead_at(runtime, shop_time(3, 16, 30), customer("ben", "(512) 555-0111"))  # a new lead: not an open loop
    as_person(runtime, client, "Olga")

    html = client.get("/review").text

    expected = act(runtime, review.today)
    assert [item.loop.deal_id for item in expected] == [pat_deal, amy_deal]
    assert [item.overdue for item in expected] == [True, False]
    assert html.index(f'data-deal-id="{pat_deal}"') < html.index(f'data-deal-id="{amy_deal}"')
    assert "Ben Okafor" not in html
    assert "2 open, " in html and "1 overdue" in html
    pat_row = html[html.index(f'data-deal-id="{pat_deal}"') : html.index(f'data-deal-id="{amy_deal}"')]
    assert "Overdue" in pat_row and "Owner: Sam" in pat_row and "Estimate sent since Nov 2" in pat_row
    assert "Follow up on the estimate (same day)" in pat_row and "overdue by" in pat_row
    assert f'href="/customers/{deal(runtime, pat_deal).customer_id}"' in pat_row


def test_an_empty_list_says_what_it_means(runtime: Runtime, client: TestClient) -> None:
    as_person(runtime, client, "Sam")
    html = client.get("/review").text
    assert "0 open" in html and "No estimate is waiting on a decision." in html


def test_sales_logs_a_follow_up_call_from_a_row(runtime: Runtime, client: TestClient) -> None:
    pat_deal, _ = two_estimates(runtime)
    token = as_person(runtime, client, "Sam")

    _, html = post(client, f"/review/deals/{pat_deal}/call", token, note="  ")
    assert "Say what was discussed" in html
    status, html = post(client, f"/review/deals/{pat_deal}/call", token, note="Wants to think until Friday")

    assert status == 200 and "Call logged: Pat Doe." in html
    row = deal(runtime, pat_deal)
    (logged,) = timeline(runtime, row.customer_id, "followup.logged")
    assert logged.summary == "Call by Sam: Wants to think until Friday"
    assert [t.kind for t in sop_tasks(runtime, pat_deal, "open")] == ["sop.followup.2", "sop.followup.3"]
    assert row.next_action == "Follow up on the estimate (48 hours)"
    (entry,) = audit_entries(runtime, "log_call")
    assert (entry.actor, entry.actor_role, entry.via, entry.subject_type, entry.subject_id) == (
        "Sam",
        "sales",
        "web",
        "deal",
        pat_deal,
    )
    assert entry.after == {
        "stage": "estimate_sent",
        "owner": "Sam",
        "channel": "call",
        "note": "Wants to think until Friday",
    }


def test_operations_assigns_a_deal_from_a_row(runtime: Runtime, client: TestClient) -> None:
    _, amy_deal = two_estimates(runtime)
    token = as_person(runtime, client, "Olga")

    _, html = post(client, f"/review/deals/{amy_deal}/assign", token, to="Dan")

    assert "Amy Lee is now Dan&#39;s." in html
    assert deal(runtime, amy_deal).owner == "Dan"
    assert {t.assignee for t in sop_tasks(runtime, amy_deal, "open")} == {"Dan"}
    (entry,) = audit_entries(runtime, "reassign")
    assert (entry.before["owner"], entry.after["owner"]) == ("Sam", "Dan")


@pytest.mark.parametrize(
    ("name", "action", "data"),
    [("Carla", "assign", {"to": "Dan"}), ("Sam", "assign", {"to": "Dan"}), ("Dan", "call", {"note": "hi"})],
)
def test_a_role_the_table_does_not_allow_gets_403(
    runtime: Runtime, client: TestClient, name: str, action: str, data: dict[str, str]
) -> None:
    pat_deal, _ = two_estimates(runtime)
    token = as_person(runtime, client, name)
    hidden = "<summary>Assign</summary>" if action == "assign" else "<summary>Log a call</summary>"
    assert hidden not in client.get("/review").text

    status, html = post(client, f"/review/deals/{pat_deal}/{action}", token, **data)

    assert status == 403 and "Your role may not" in html
    assert deal(runtime, pat_deal).owner == "Sam"
    assert [e.action for e in audit_entries(runtime) if e.action != "sign_in"] == []
