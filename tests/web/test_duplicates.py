"""Duplicates without a browser: the review queue with both records and the evidence, merge, keep apart and undo by
the owner and operations (each audited), a CSR refused (403) with no menu entry, and the empty states."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldrelay.runtime import Runtime
from fieldrelay.server import build_app
from fieldrelay.storage.tables import merge_candidates, merges
from tests.service.access.support import add_person, audit_entries
from tests.service.support import live_customers, rows
from tests.web.customer_support import as_person, post, queued_pair


@pytest.fixture
def client(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The server's app; Olga (operations) and Carla (CSR) may sign in."""
    monkeypatch.setenv("FIELDRELAY_SESSION_SECRET", "test-session-secret")
    add_person(runtime, "Olga", "operations")
    add_person(runtime, "Carla", "office")
    with TestClient(build_app(runtime)) as test_client:
        yield test_client


def test_the_empty_queue_says_what_it_means(client: TestClient) -> None:
    as_person(client, "Olga")
    page = client.get("/duplicates").text
    assert "No pairs to review" in page and "No merges yet" in page
    assert 'href="/duplicates"' in page  # in her menu


def test_operations_sees_both_records_and_the_evidence_merges_and_undoes(runtime: Runtime, client: TestClient) -> None:
    pair = queued_pair(runtime)
    token = as_person(client, "Olga", "/duplicates")

    page = client.get("/duplicates").text
    assert "% likely the same customer" in page
    assert "Kept (older record)" in page and "Pat Doe" in page and "pat.doe@example.com" in page
    assert "Phone: shared" in page and "(for, +5.0)" in page

    status, page = post(client, f"/duplicates/{pair.id}/merge", token)

    assert status == 200 and "Merged (merge" in page and "No pairs to review" in page
    assert live_customers(runtime) == 1
    (merge,) = rows(runtime, merges)
    assert (merge.survivor_id, merge.decided_by) == (pair.other_id, "person:Olga")
    (entry,) = audit_entries(runtime, "merge")
    assert (entry.actor, entry.via, entry.subject_id, entry.after) == (
        "Olga",
        "web",
        str(pair.id),
        {"status": "merged", "merge_id": merge.id},
    )

    status, page = post(client, f"/merges/{merge.id}/undo", token)
    assert status == 200 and f"Merge {merge.id} undone" in page and "Undone" in page
    assert live_customers(runtime) == 2 and rows(runtime, merge_candidates)[0].status == "open"
    (undo,) = audit_entries(runtime, "undo_merge")
    assert undo.after == {"undone": True, "survivor_id": pair.other_id, "restored_id": pair.customer_id}
    again = post(client, f"/merges/{merge.id}/undo", token)
    assert again[0] == 200 and "Not undone" in again[1]


def test_operations_keeps_a_pair_apart(runtime: Runtime, client: TestClient) -> None:
    pair = queued_pair(runtime)
    token = as_person(client, "Olga", "/duplicates")

    status, page = post(client, f"/duplicates/{pair.id}/keep-apart", token, htmx=False)

    assert status == 200 and "Kept apart" in page
    (decided,) = rows(runtime, merge_candidates)
    assert (decided.status, decided.decided_by) == ("distinct", "Olga")
    assert [e.after for e in audit_entries(runtime, "keep_apart")] == [{"status": "distinct"}]
    status, page = post(client, f"/duplicates/{pair.id}/merge", token, htmx=False)
    assert status == 409 and "already distinct" in page
    assert live_customers(runtime) == 2


def test_a_csr_may_not_review_duplicates(runtime: Runtime, client: TestClient) -> None:
    pair = queued_pair(runtime)
    token = as_person(client, "Carla")

    assert 'href="/duplicates"' not in client.get("/customers").text
    refused = client.get("/duplicates")
    assert refused.status_code == 403 and "Your role may not merge records." in refused.text
    assert "Merge</button>" not in refused.text
    assert post(client, f"/duplicates/{pair.id}/merge", token)[0] == 403
    assert post(client, f"/duplicates/{pair.id}/keep-apart", token)[0] == 403
    assert rows(runtime, merge_candidates)[0].status == "open" and rows(runtime, merges) == []
    assert audit_entries(runtime, "merge") == []
