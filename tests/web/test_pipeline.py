"""Leads and pipeline without a browser: the board by stage, a phoned-in lead through the same intake as a web lead
(matching, the first-response clock), qualify, the visit outcome and assign, each by the roles the table allows, with
its audit entry; refusals in words and nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.server import build_app
from fieldrelay.service.handoff.first_response import sync_team
from fieldrelay.storage.sequences.tables import tasks
from fieldrelay.storage.tables import customers, deals
from tests.service.access.support import add_person, audit_entries
from tests.service.handoff.support import act, customer, deal, estimate_at, lead_at, shop_time, sop_tasks
from tests.service.support import HCP, apply, live_customers, pat, rows, sim_clock, timeline
from tests.service.tasks.support import tasks_settings
from tests.web.support import csrf_of, sign_in

PEOPLE = {"Carla": "office", "Dan": "dispatcher", "Sam": "sales", "Olga": "operations", "Tia": "technician"}


@pytest.fixture
def settings() -> Settings:
    """The handoff shop: Carla (office), Dan (dispatcher), Sam (sales), Olga (operations); ZIPs 78701 and 78702."""
    return tasks_settings()


@pytest.fixture
def client(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The server's app with the team in the database."""
    monkeypatch.setenv("FIELDRELAY_SESSION_SECRET", "test-session-secret")
    act(runtime, sync_team)
    with TestClient(build_app(runtime)) as test_client:
        yield test_client


def as_person(runtime: Runtime, client: TestClient, name: str) -> str:
    """Give ``name`` (of PEOPLE) a sign-in and sign them in (one password hash each: argon2 is slow on purpose); the
    CSRF token of their pipeline page."""
    add_person(runtime, name, PEOPLE[name])
    assert sign_in(client, name) == 303
    return csrf_of(client.get("/pipeline").text)


def post(client: TestClient, path: str, token: str, **data: str) -> tuple[int, str]:
    """An htmx POST with the CSRF header; its status and body."""
    response = client.post(path, data=data, headers={"HX-Request": "true", "X-CSRF-Token": token})
    return response.status_code, response.text


def the_deal(runtime: Runtime) -> Any:
    """The one deal."""
    (row,) = rows(runtime, deals)
    return row


def test_the_board_shows_each_stage_in_order_with_its_deals(runtime: Runtime, client: TestClient) -> None:
    lead_at(runtime, shop_time(2, 10))
    estimate_at(runtime, shop_time(2, 11))
    lead_at(runtime, shop_time(2, 12), customer("amy", "(512) 555-0100"))
    sim_clock(runtime).advance_to(shop_time(2, 12, 2))
    as_person(runtime, client, "Carla")

    html = client.get("/pipeline").text

    names = ["New lead - needs qualification", "Qualified - ready to schedule", "Scheduled", "Estimate sent"]
    positions = [html.index(name) for name in names]
    assert positions == sorted(positions)
    assert "Won</h2>" not in html and "Lost</h2>" not in html  # closed stages are not on the board
    amy = html[html.index("Amy Lee") :]
    assert "Owner: Carla" in amy and "In this stage under an hour" in amy and "due in 3 min" in amy
    pat_card = html[html.index("Pat Doe") :]
    assert "Owner: Sam" in pat_card and "Follow up on the estimate (same day)" in pat_card
    assert "2 open deals" in html and "No deals at this stage." in html


def test_an_empty_board_says_what_it_means(runtime: Runtime, client: TestClient) -> None:
    as_person(runtime, client, "Carla")
    html = client.get("/pipeline").text
    assert "0 open deals" in html and "No open deals. A lead from the web form" in html


def test_a_phoned_in_lead_takes_the_same_intake_as_a_web_lead(runtime: Runtime, client: TestClient) -> None:
    sim_clock(runtime).advance_to(shop_time(2, 10))
    token = as_person(runtime, client, "Carla")

    status, html = post(
        client,
        "/pipeline/leads",
        token,
        name="Maria de los Ángeles Fernández-Oyelaran",
        phone="512.555.0177",
        zip_code="78702",
        street="12 Elm St",
        service="Water heater replacement",
        notes="Leaking since Sunday",
    )

    assert status == 200 and "Lead taken for Maria de los Ángeles Fernández-Oyelaran" in html
    (row,) = rows(runtime, customers)
    assert (row.first_name, row.last_name, row.street, row.postal_code) == (
        "Maria",
        "de los Ángeles Fernández-Oyelaran",
        "12 Elm St",
        "78702",
    )
    found = the_deal(runtime)
    assert (found.stage, found.owner, found.lead_at) == ("new_lead", "Carla", found.lead_at)
    assert found.lead_at is not None
    (task,) = sop_tasks(runtime, found.id, "open")
    assert task.kind == "sop.first_response" and task.assignee == "Carla"
    (lead,) = timeline(runtime, row.id, "lead.received")
    assert lead.summary == "New lead via phone for Water heater replacement: Leaking since Sunday"
    (entry,) = audit_entries(runtime, "new_lead")
    assert (entry.actor, entry.via, entry.subject_type, entry.subject_id) == ("Carla", "web", "deal", found.id)
    assert entry.after["phone"] == "512.555.0177" and entry.after["source"] == "phone"
    assert entry.after["customer_id"] == row.id and entry.after["stage"] == "new_lead"
    assert "Maria de los" in html[html.index("New lead - needs") :]  # on the board at once


def test_a_caller_the_shop_knows_is_matched_not_duplicated(runtime: Runtime, client: TestClient) -> None:
    apply(runtime, ev.CustomerCreated(source=HCP, occurred_at=shop_time(2, 9), customer=pat()))
    sim_clock(runtime).advance_to(shop_time(2, 10))
    token = as_person(runtime, client, "Carla")

    status, _ = post(client, "/pipeline/leads", token, name="Pat Doe", phone="+1 512 555 0142", service="Drain")

    assert status == 200
    assert live_customers(runtime) == 1
    found = the_deal(runtime)
    assert found.stage == "new_lead" and found.owner == "Carla"


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"name": "No Contact"}, "A lead needs a phone number or an email"),
        ({"name": "Bad Phone", "phone": "12"}, "The phone number &#39;12&#39; is not a valid number"),
        ({"name": "Bad Email", "email": "nobody"}, "The email &#39;nobody&#39; is not an address"),
    ],
)
def test_a_lead_nobody_could_reach_is_refused_and_kept_in_the_form(
    runtime: Runtime, client: TestClient, fields: dict[str, str], said: str
) -> None:
    token = as_person(runtime, client, "Carla")
    status, html = post(client, "/pipeline/leads", token, **fields)
    assert status == 200 and said in html
    assert f'value="{fields["name"]}"' in html  # what was typed stays
    assert rows(runtime, customers) == [] and audit_entries(runtime, "new_lead") == []


def test_qualify_moves_the_lead_to_the_dispatcher(runtime: Runtime, client: TestClient) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    token = as_person(runtime, client, "Carla")

    status, html = post(client, f"/pipeline/deals/{deal_id}/qualify", token, zip_code="78701")
    assert "Cannot qualify without: job type, requested time." in html
    status, html = post(client, f"/pipeline/deals/{deal_id}/qualify", token, zip_code="90210", job_type="x", when="y")
    assert "outside the service area" in html and deal(runtime, deal_id).stage == "new_lead"
    status, html = post(
        client, f"/pipeline/deals/{deal_id}/qualify", token, zip_code="78701", job_type="Drain", when="Tue AM"
    )

    assert status == 200 and "Qualified: Pat Doe." in html
    row = deal(runtime, deal_id)
    assert (row.stage, row.owner, row.service_zip, row.first_response_at is not None) == (
        "qualified",
        "Dan",
        "78701",
        True,
    )
    (entry,) = audit_entries(runtime, "qualify")
    assert entry.before == {"stage": "new_lead", "owner": "Carla"}
    assert entry.after == {"stage": "qualified", "owner": "Dan", "zip": "78701", "job_type": "Drain", "when": "Tue AM"}
    assert any("qualified by Carla" in a.summary for a in timeline(runtime, row.customer_id, "deal.stage"))


def test_sales_records_the_visit_outcome(runtime: Runtime, client: TestClient) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    token = as_person(runtime, client, "Sam")

    _, html = post(client, f"/pipeline/deals/{deal_id}/outcome", token, outcome="no_decision")
    assert "say which day to call the customer back" in html and deal(runtime, deal_id).stage == "new_lead"
    _, html = post(client, f"/pipeline/deals/{deal_id}/outcome", token, outcome="no_decision", follow_up_on="2026-11-9")
    assert "is not a date" in html
    _, html = post(
        client, f"/pipeline/deals/{deal_id}/outcome", token, outcome="no_decision", follow_up_on="2026-11-09"
    )

    assert "No decision yet: Pat Doe." in html
    assert deal(runtime, deal_id).stage == "no_decision"
    (task,) = sop_tasks(runtime, deal_id, "open")
    assert task.kind == "sop.decision_followup" and task.assignee == "Sam"
    (entry,) = audit_entries(runtime, "record_outcome")
    assert (entry.actor, entry.before["stage"], entry.after["stage"]) == ("Sam", "new_lead", "no_decision")
    assert entry.after["follow_up_on"] == "2026-11-09"


def test_a_dispatcher_reassigns_a_deal_with_its_tasks(runtime: Runtime, client: TestClient) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    token = as_person(runtime, client, "Dan")

    _, html = post(client, f"/pipeline/deals/{deal_id}/assign", token, to="Nobody")
    assert "&#39;Nobody&#39; is not on the team" in html
    _, html = post(client, f"/pipeline/deals/{deal_id}/assign", token, to="Sam")

    assert "Pat Doe is now Sam&#39;s." in html
    assert deal(runtime, deal_id).owner == "Sam"
    assert [t.assignee for t in rows(runtime, tasks, tasks.c.status == "open")] == ["Sam"]
    (entry,) = audit_entries(runtime, "reassign")
    assert (entry.before["owner"], entry.after["owner"]) == ("Carla", "Sam")


@pytest.mark.parametrize(
    ("name", "path", "data"),
    [
        ("Sam", "/pipeline/leads", {"name": "X", "phone": "5125550100"}),
        ("Dan", "/pipeline/leads", {"name": "X", "phone": "5125550100"}),
        ("Sam", "/pipeline/deals/{deal}/qualify", {"zip_code": "78701", "job_type": "Drain", "when": "Tue"}),
        ("Carla", "/pipeline/deals/{deal}/outcome", {"outcome": "estimate_sent"}),
        ("Dan", "/pipeline/deals/{deal}/outcome", {"outcome": "estimate_sent"}),
        ("Carla", "/pipeline/deals/{deal}/assign", {"to": "Sam"}),
        ("Sam", "/pipeline/deals/{deal}/assign", {"to": "Sam"}),
        ("Tia", "/pipeline/deals/{deal}/qualify", {"zip_code": "78701", "job_type": "Drain", "when": "Tue"}),
    ],
)
def test_a_role_the_table_does_not_allow_gets_403_and_changes_nothing(
    runtime: Runtime, client: TestClient, name: str, path: str, data: dict[str, str]
) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    token = as_person(runtime, client, name)

    status, html = post(client, path.format(deal=deal_id), token, **data)

    assert status == 403 and "Your role may not" in html
    assert (deal(runtime, deal_id).stage, deal(runtime, deal_id).owner) == ("new_lead", "Carla")
    assert len(rows(runtime, customers)) == 1
    assert [e.action for e in audit_entries(runtime) if e.action != "sign_in"] == []


@pytest.mark.parametrize(
    ("name", "shown", "hidden"),
    [
        ("Carla", ["New lead (phoned in)", "<summary>Qualify</summary>"], ["Visit outcome", "<summary>Assign"]),
        ("Dan", ["<summary>Qualify</summary>", "<summary>Assign"], ["New lead (phoned in)", "Visit outcome"]),
        ("Sam", [], ["New lead (phoned in)", "<summary>Qualify</summary>", "<summary>Assign"]),
        ("Tia", [], ["New lead (phoned in)", "<summary>Qualify</summary>", "Visit outcome", "<summary>Assign"]),
    ],
)
def test_each_role_sees_only_the_controls_it_may_use(
    runtime: Runtime, client: TestClient, name: str, shown: list[str], hidden: list[str]
) -> None:
    lead_at(runtime, shop_time(2, 10))
    as_person(runtime, client, name)
    html = client.get("/pipeline").text
    assert all(text in html for text in shown), name
    assert not any(text in html for text in hidden), name


def test_a_post_without_the_csrf_token_is_refused(runtime: Runtime, client: TestClient) -> None:
    as_person(runtime, client, "Carla")
    response = client.post("/pipeline/leads", data={"name": "X", "phone": "5125550100"})
    assert response.status_code == 403 and rows(runtime, customers) == []
