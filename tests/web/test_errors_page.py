"""The Errors screen without a browser: the queue with its filters, one error's attempts, retry one or the selected,
dismiss with a required reason (each audited in the action's transaction), and 403 for every other role."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.server import build_app
from fieldrelay.storage.ops import errors as error_queue
from fieldrelay.storage.tables import messages, outbox
from tests.service.access.support import add_person, audit_entries
from tests.storage.error_rows import ACCOUNT, add_dead_outbox, add_dead_timer, add_inbox_error
from tests.web.support import csrf_of, sign_in


@pytest.fixture
def client(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The server's app (API and office app), no worker."""
    monkeypatch.setenv("FIELDRELAY_SESSION_SECRET", "test-session-secret")
    with TestClient(build_app(runtime)) as test_client:
        yield test_client


def _open_ids(runtime: Runtime) -> list[str]:
    with runtime.engine.connect() as conn:
        return [item.id for item in error_queue.list_errors(conn, ACCOUNT)]


def _as(runtime: Runtime, client: TestClient, name: str, role: str) -> str:
    """Sign in as a new person of ``role``; the CSRF token of their errors page (or of My day)."""
    add_person(runtime, name, role)
    assert sign_in(client, name) == 303
    return csrf_of(client.get("/").text)


def test_the_queue_lists_each_kind_with_its_reason_and_filters(
    runtime: Runtime, client: TestClient, clock: SimulatedClock
) -> None:
    now = clock.now()
    inbox_id = add_inbox_error(runtime.engine, now - timedelta(days=2), connector="jobber")
    timer_id = add_dead_timer(runtime.engine, now - timedelta(hours=3))
    outbox_id, _ = add_dead_outbox(runtime.engine, now - timedelta(minutes=20))
    _as(runtime, client, "Olga", "operations")

    page = client.get("/errors")
    assert page.status_code == 200
    for error_id, reason in ((inbox_id, "job names no customer"), (timer_id, "handler blew up")):
        assert error_id in page.text and reason in page.text
    assert "not a mobile number" in page.text and '<a href="/errors">Errors</a>' not in page.text
    assert 'aria-current="page">Errors' in page.text
    # The queue stores no message body or address, and the page shows none.
    assert "Thanks!" not in page.text and "+15125550142" not in page.text

    def listed(query: str) -> list[str]:
        text = client.get(f"/errors/list{query}").text
        return [i for i in (inbox_id, timer_id, outbox_id) if f'id="row-{i}"' in text]

    assert listed("?kind=timer") == [timer_id]
    assert listed("?source=jobber") == [inbox_id]
    assert listed("?source=sms") == [outbox_id]
    assert listed("?age=1h") == [inbox_id, timer_id]
    assert listed("?age=1d") == [inbox_id]
    assert listed("?kind=nonsense&age=forever") == [inbox_id, timer_id, outbox_id]  # a stale link shows everything
    fragment = client.get("/errors/list?kind=outbox&source=email").text
    assert not fragment.startswith("<!doctype") and "Nothing in the queue matches these filters" in fragment
    assert 'hx-get="/errors/list?kind=outbox&amp;source=email"' in fragment  # the polling keeps the filters


def test_an_empty_queue_says_so(runtime: Runtime, client: TestClient) -> None:
    _as(runtime, client, "Olga", "owner")
    page = client.get("/errors").text
    assert "The error queue is empty" in page and "Retry selected" not in page


def test_the_detail_shows_each_attempt_s_status_and_response(
    runtime: Runtime, client: TestClient, clock: SimulatedClock
) -> None:
    outbox_id, _ = add_dead_outbox(runtime.engine, clock.now() - timedelta(hours=1), attempts=3)
    timer_id = add_dead_timer(runtime.engine, clock.now() - timedelta(hours=1))
    _as(runtime, client, "Olga", "operations")

    page = client.get(f"/errors/{outbox_id}").text
    assert all(f"try {n}" in page for n in (1, 2, 3))
    assert ">400<" in page and "none (no answer)" in page and "not a mobile number" in page
    assert "Thanks!" not in page and "+15125550142" not in page
    assert "Only deliveries (outbox rows) record attempts" in client.get(f"/errors/{timer_id}").text
    missing = client.get("/errors/outbox-9999")
    assert missing.status_code == 404 and "not in the queue" in missing.text


def test_retry_one_puts_it_back_in_line_and_is_audited(
    runtime: Runtime, client: TestClient, clock: SimulatedClock
) -> None:
    outbox_id, message_id = add_dead_outbox(runtime.engine, clock.now() - timedelta(hours=1))
    csrf = _as(runtime, client, "Olga", "operations")

    answer = client.post(f"/errors/{outbox_id}/retry", data={"csrf_token": csrf}, headers={"HX-Request": "true"})

    assert answer.status_code == 200 and f"Put back in line: {outbox_id}" in answer.text
    assert not answer.text.startswith("<!doctype")  # htmx gets the list alone
    assert _open_ids(runtime) == []
    with runtime.engine.connect() as conn:
        assert conn.execute(select(outbox.c.status, outbox.c.attempts)).one() == ("pending", 0)
        assert conn.execute(select(messages.c.status).where(messages.c.id == message_id)).scalar_one() == "queued"
    (entry,) = audit_entries(runtime, "retry_error")
    assert (entry.actor, entry.actor_role, entry.via, entry.subject_type, entry.subject_id) == (
        "Olga",
        "operations",
        "web",
        "error",
        outbox_id,
    )
    assert entry.before == {"status": "open", "tries": 2, "error": "not a mobile number"}
    assert entry.after == {"status": "pending"}
    again = client.post(f"/errors/{outbox_id}/retry", data={"csrf_token": csrf})
    assert "No longer in the queue" in again.text and len(audit_entries(runtime, "retry_error")) == 1


def test_retry_selected_retries_the_ticked_ones(runtime: Runtime, client: TestClient, clock: SimulatedClock) -> None:
    now = clock.now()
    first = add_inbox_error(runtime.engine, now - timedelta(hours=2))
    second = add_dead_timer(runtime.engine, now - timedelta(hours=1))
    kept = add_dead_timer(runtime.engine, now - timedelta(minutes=5), kind="estimate_followup")
    csrf = _as(runtime, client, "Olga", "owner")

    none = client.post("/errors/retry", data={"csrf_token": csrf})
    assert "Tick the errors to retry first" in none.text
    answer = client.post(
        "/errors/retry", data={"csrf_token": csrf, "ids": [first, second, "outbox-9999", "junk"], "kind": "timer"}
    )

    assert f"Put back in line: {first}, {second}" in answer.text and "outbox-9999" in answer.text
    assert _open_ids(runtime) == [kept]
    assert [e.subject_id for e in audit_entries(runtime, "retry_error")] == [first, second]
    assert '<option value="timer" selected>' in answer.text  # the filters the person had stay


def test_dismiss_needs_a_reason_and_is_audited(runtime: Runtime, client: TestClient, clock: SimulatedClock) -> None:
    outbox_id, message_id = add_dead_outbox(runtime.engine, clock.now() - timedelta(hours=1))
    csrf = _as(runtime, client, "Olga", "operations")

    refused = client.post(f"/errors/{outbox_id}/dismiss", data={"csrf_token": csrf, "reason": "   "})
    assert "Say why" in refused.text and _open_ids(runtime) == [outbox_id]
    assert audit_entries(runtime, "dismiss_error") == []

    done = client.post(f"/errors/{outbox_id}/dismiss", data={"csrf_token": csrf, "reason": "Landline; called instead"})

    assert f"Dismissed {outbox_id}: Landline; called instead" in done.text
    assert _open_ids(runtime) == []
    with runtime.engine.connect() as conn:
        row = conn.execute(select(outbox.c.status, outbox.c.last_error)).one()
        assert conn.execute(select(messages.c.status).where(messages.c.id == message_id)).scalar_one() == "cancelled"
    assert row == ("dismissed", "not a mobile number — dismissed by Olga: Landline; called instead")
    (entry,) = audit_entries(runtime, "dismiss_error")
    assert (entry.actor, entry.subject_id, entry.after) == (
        "Olga",
        outbox_id,
        {"status": "dismissed", "reason": "Landline; called instead"},
    )


@pytest.mark.parametrize("role", ["office", "dispatcher", "sales", "technician"])
def test_other_roles_neither_see_nor_act(
    runtime: Runtime, client: TestClient, clock: SimulatedClock, role: str
) -> None:
    error_id = add_dead_timer(runtime.engine, clock.now() - timedelta(hours=1))
    csrf = _as(runtime, client, "Carla", role)

    assert 'href="/errors"' not in client.get("/").text
    for path in ("/errors", "/errors/list", f"/errors/{error_id}"):
        assert client.get(path).status_code == 403, path
    for path, data in (
        (f"/errors/{error_id}/retry", {}),
        ("/errors/retry", {"ids": [error_id]}),
        (f"/errors/{error_id}/dismiss", {"reason": "no"}),
    ):
        assert client.post(path, data={"csrf_token": csrf, **data}).status_code == 403, path
    assert _open_ids(runtime) == [error_id] and audit_entries(runtime) == [
        e for e in audit_entries(runtime) if e.action == "sign_in"
    ]
