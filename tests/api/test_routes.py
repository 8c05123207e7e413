"""The JSON API: customers by phone, timeline, messages, the error queue, health and readiness."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from fieldrelay.api.app import create_app
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import outbox
from tests.api.support import AUTH, deliver
from tests.helpers import job_envelope
from tests.storage.error_rows import add_dead_outbox, add_inbox_error


def test_paid_job_flows_to_customer_timeline_and_review_text(client: TestClient, clock: SimulatedClock) -> None:
    """Booked, completed, paid → customer found by any phone format, timeline, one review text 30 min later."""
    for event, at in (("job.scheduled", "14:00"), ("job.completed", "14:40"), ("job.paid", "14:45")):
        deliver(client, job_envelope(event, f"2026-11-02T{at}:00Z"), clock.now())
    advance = client.post("/api/clock/advance", json={"seconds": 0}, headers=AUTH)
    assert advance.status_code == 200 and advance.json()["drained"] is True

    found = client.get("/api/customers", params={"phone": "512.555.0142"}, headers=AUTH).json()["items"]
    assert len(found) == 1
    customer = found[0]
    assert customer["phones"] == ["+15125550142"] and customer["emails"] == ["pat.doe@example.com"]
    assert (customer["primary_phone"], customer["primary_email"]) == ("+15125550142", "pat.doe@example.com")
    assert customer["name"] == "Pat Doe" and customer["lifecycle_stage"] == "customer"
    assert customer["address"]["street"] == "123 Main St" and customer["address"]["unit"] == "Apt 4"
    assert [(j["status"], j["status_at"]) for j in customer["jobs"]] == [("paid", "2026-11-02T14:45:00Z")]

    timeline = client.get(f"/api/customers/{customer['id']}/timeline", headers=AUTH).json()["items"]
    assert [item["kind"] for item in timeline] == [
        "customer.created",
        "job.booked",
        "deal.stage",
        "job.completed",
        "job.paid",
        "deal.stage",
    ]
    assert {item["source"] for item in timeline} == {"housecallpro", "fieldrelay"}
    assert [i["summary"] for i in timeline if i["kind"] == "deal.stage"] == [
        "Deal opened at Scheduled",
        "Deal moved from Scheduled to Won",
    ]

    detail = client.get(f"/api/customers/{customer['id']}", headers=AUTH).json()
    assert [(d["stage"], d["open"]) for d in detail["deals"]] == [("won", False)]
    assert detail["fields"]["last_paid_at"] == {
        "value": "2026-11-02T14:45:00+00:00",
        "source": "vendor:housecallpro",
        "as_of": "2026-11-02T14:45:00Z",
    }
    assert detail["fields"]["account_status"]["value"] == "active"
    assert [h["job_id"] for h in detail["service_history"]] == [customer["jobs"][0]["id"]]

    messages = client.get("/api/messages", params={"customer_id": customer["id"]}, headers=AUTH).json()["items"]
    assert [(m["purpose"], m["status"], m["scheduled_for"]) for m in messages] == [
        ("review_request", "scheduled", "2026-11-02T15:15:00Z")
    ]
    client.post("/api/clock/advance", json={"seconds": 30 * 60}, headers=AUTH)
    sent = client.get("/api/messages", params={"customer_id": customer["id"]}, headers=AUTH).json()["items"]
    assert [(m["channel"], m["to"], m["status"], m["sent_at"]) for m in sent] == [
        ("sms", "+15125550142", "delivered", "2026-11-02T15:15:00Z")
    ]
    kinds = [i["kind"] for i in client.get(f"/api/customers/{customer['id']}/timeline", headers=AUTH).json()["items"]]
    assert kinds[-1] == "message.sent"


def test_same_person_by_phone_is_one_customer(client: TestClient, clock: SimulatedClock) -> None:
    """Two vendor customer ids with one phone (another format) resolve to the same record."""
    deliver(client, job_envelope("job.scheduled", "2026-11-02T14:00:00Z", job_id="j1", customer_id="c1"), clock.now())
    other = job_envelope(
        "job.scheduled", "2026-11-02T14:05:00Z", job_id="j2", customer_id="c2", phone="+1 512 555 0142"
    )
    deliver(client, other, clock.now())
    client.post("/api/clock/advance", json={"seconds": 0}, headers=AUTH)
    items = client.get("/api/customers", params={"phone": "5125550142"}, headers=AUTH).json()["items"]
    assert len(items) == 1 and len(items[0]["jobs"]) == 2


def test_api_requires_the_bearer_token(client: TestClient) -> None:
    """No token or a wrong one: 401."""
    assert client.get("/api/customers").status_code == 401
    assert client.get("/api/errors", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/errors", headers=AUTH).json() == {"items": []}


def test_bad_phone_query_is_a_clear_422(client: TestClient) -> None:
    """A phone that is no number is refused with a reason."""
    response = client.get("/api/customers", params={"phone": "call me"}, headers=AUTH)
    assert response.status_code == 422 and "not a phone number" in response.json()["detail"]


def test_error_queue_retry_puts_row_back(client: TestClient, runtime: Runtime, clock: SimulatedClock) -> None:
    """A job event naming no customer waits in the error queue; retry re-queues it with a fresh budget."""
    envelope = {"event": "job.created", "event_occurred_at": "2026-11-02T14:59:00Z", "job": {"id": "job_x"}}
    deliver(client, envelope, clock.now())
    client.post("/api/clock/advance", json={"seconds": 0}, headers=AUTH)
    errors = client.get("/api/errors", headers=AUTH).json()["items"]
    assert len(errors) == 1 and "names no customer" in errors[0]["error"]
    retried = client.post(f"/api/errors/{errors[0]['id']}/retry", headers=AUTH)
    assert retried.status_code == 200
    assert client.post("/api/errors/inbox-999/retry", headers=AUTH).status_code == 404
    assert client.get("/readyz").json()["inbox_pending"] == 1


def test_health_and_readiness(client: TestClient, clock: SimulatedClock) -> None:
    """healthz needs no database; readyz reports the database and waiting work without auth."""
    assert client.get("/healthz").json() == {"status": "ok"}
    deliver(
        client,
        job_envelope("job.paid", (clock.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")),
        clock.now(),
    )
    assert client.get("/readyz").json() == {"db": "ok", "inbox_pending": 1, "outbox_pending": 0, "timers_due": 0}
    assert "fieldrelay_webhooks_total" in client.get("/metrics").text


def test_error_queue_filters_detail_and_dismiss(client: TestClient, runtime: Runtime, clock: SimulatedClock) -> None:
    """Filter by source and age, read an outbox row's attempts, dismiss it (body optional), then 404."""
    now = clock.now()
    inbox_id = add_inbox_error(runtime.engine, now - timedelta(minutes=10), connector="jobber")
    outbox_id, _ = add_dead_outbox(runtime.engine, now - timedelta(hours=3))

    def listed(**params: str) -> list[str]:
        response = client.get("/api/errors", params=params, headers=AUTH)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert listed() == [outbox_id, inbox_id]
    assert listed(source="jobber") == [inbox_id]
    assert listed(target="sms") == [outbox_id] and listed(target="jobber") == []
    assert listed(older_than="2h") == [outbox_id]
    assert listed(kind="outbox", older_than="7d") == []
    for bad in ("2 hours", "-2h"):
        refused = client.get("/api/errors", params={"older_than": bad}, headers=AUTH)
        assert refused.status_code == 422 and "older_than" in refused.json()["detail"]

    detail = client.get(f"/api/errors/{outbox_id}", headers=AUTH).json()
    assert (detail["id"], detail["source"], detail["error"]) == (outbox_id, "sms", "not a mobile number")
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in detail["attempts"]] == [
        (1, "failed", None),
        (2, "failed", 400),
    ]
    inbox_detail = client.get(f"/api/errors/{inbox_id}", headers=AUTH).json()
    assert (inbox_detail["connector"], inbox_detail["event_type"], inbox_detail["attempts"]) == (
        "jobber",
        "job.created",
        [],
    )

    dismissed = client.post(f"/api/errors/{outbox_id}/dismiss", json={"by": "dana", "reason": "landline"}, headers=AUTH)
    assert dismissed.json() == {"id": outbox_id, "status": "dismissed"}
    assert client.post(f"/api/errors/{inbox_id}/dismiss", headers=AUTH).status_code == 200
    assert client.post(f"/api/errors/{outbox_id}/dismiss", headers=AUTH).status_code == 404
    assert client.get(f"/api/errors/{outbox_id}", headers=AUTH).status_code == 404
    assert client.get("/api/errors/nonsense", headers=AUTH).status_code == 404
    assert listed() == []


def test_metrics_gauge_the_error_queue_and_the_oldest_waiting_row(
    client: TestClient, runtime: Runtime, clock: SimulatedClock
) -> None:
    """One dead outbox row reads 1 on the error-queue gauge; a waiting delivery ages on the clock."""
    add_dead_outbox(runtime.engine, clock.now() - timedelta(hours=1))
    deliver(client, job_envelope("job.paid", "2026-11-02T14:59:00Z"), clock.now())
    clock.advance(120)
    text = client.get("/metrics").text
    assert 'fieldrelay_error_queue_rows{kind="outbox",source="sms"} 1.0' in text
    assert 'fieldrelay_oldest_pending_age_seconds{table="inbox"} 120.0' in text
    assert 'fieldrelay_oldest_pending_age_seconds{table="outbox"} 0.0' in text
    assert "fieldrelay_webhooks_total" in text
    assert 'fieldrelay_outbox_oldest_pending_age_seconds{target="sms"}' not in text, "dead rows wait for no one"
    assert 'source="sms"} 1.0' in TestClient(create_app(runtime)).get("/metrics").text, "a second app registers too"
    with runtime.engine.begin() as conn:
        conn.execute(update(outbox).where(outbox.c.status == "dead").values(status="pending"))
    waiting = TestClient(create_app(runtime)).get("/metrics").text
    assert 'fieldrelay_outbox_oldest_pending_age_seconds{target="sms"} 3720.0' in waiting
