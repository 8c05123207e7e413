"""The Referrals screen without a browser: review (approve, or reject with a required reason), rewards due by hand,
referrers with codes and links, enrolling and attributing by phone; deciding and paying are for the owner and
operations only, each action audited in its unit of work and noted on the customer's timeline."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.server import build_app
from tests.service.access.support import add_person, audit_entries
from tests.service.referrals.support import all_referrers, lead, lou, referral_settings, rewards, the_referral
from tests.service.support import apply, at, timeline
from tests.web.referral_rows import customer_named, referred_sam
from tests.web.support import csrf_of, sign_in


@pytest.fixture
def settings() -> Settings:
    """The referral program on (reward: a $50.00 gift card, links under https://example.com/r/)."""
    return referral_settings()


@pytest.fixture
def client(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The server's app (API and office app), no worker."""
    monkeypatch.setenv("FIELDRELAY_SESSION_SECRET", "test-session-secret")
    with TestClient(build_app(runtime)) as test_client:
        yield test_client


def _as(runtime: Runtime, client: TestClient, name: str, role: str) -> str:
    """Sign in as a new person of ``role``; the CSRF token of the app's forms."""
    add_person(runtime, name, role)
    assert sign_in(client, name) == 303
    return csrf_of(client.get("/").text)


def test_operations_approves_a_flagged_referral(runtime: Runtime, client: TestClient) -> None:
    referral_id, _ = referred_sam(runtime, min_days_to_milestone=7)  # paid an hour after the lead: too fast
    csrf = _as(runtime, client, "Olga", "operations")

    page = client.get("/referrals").text
    assert "Sam Lee" in page and "referred by Pat Doe" in page and "too fast" in page
    assert 'href="/referrals"' in page and f'/referrals/{referral_id}/approve"' in page

    done = client.post(f"/referrals/{referral_id}/approve", data={"csrf_token": csrf}, headers={"HX-Request": "1"})

    assert "Approved the referral of Sam Lee (now rewarded)" in done.text and "<!doctype" not in done.text
    assert the_referral(runtime).status == "rewarded"  # reward_issue: automatic
    assert [(w.amount_cents, w.method, w.issued_by) for w in rewards(runtime)] == [(5000, "gift_card", "Olga")]
    sam = customer_named(runtime, "Sam")
    assert [a.summary for a in timeline(runtime, sam.id, "referral.approved")] == ["Referral approved by Olga"]
    (entry,) = audit_entries(runtime, "approve_referral")
    assert (entry.actor, entry.via, entry.subject_type, entry.subject_id) == ("Olga", "web", "referral", referral_id)
    assert (entry.before, entry.after) == ({"status": "review"}, {"status": "rewarded", "reason": None})
    again = client.post(f"/referrals/{referral_id}/approve", data={"csrf_token": csrf})
    assert "not waiting for review" in again.text and len(audit_entries(runtime, "approve_referral")) == 1


def test_reject_needs_a_reason(runtime: Runtime, client: TestClient) -> None:
    referral_id, _ = referred_sam(runtime, require_approval=True)
    csrf = _as(runtime, client, "Olga", "owner")

    refused = client.post(f"/referrals/{referral_id}/reject", data={"csrf_token": csrf, "reason": "  "})
    assert "a reason is required" in refused.text and the_referral(runtime).status == "review"

    done = client.post(f"/referrals/{referral_id}/reject", data={"csrf_token": csrf, "reason": "Sam is Pat's son"})

    assert "Rejected the referral of Sam Lee" in done.text
    assert (the_referral(runtime).status, the_referral(runtime).reason) == ("rejected", "Sam is Pat's son")
    assert rewards(runtime) == []
    sam = customer_named(runtime, "Sam")
    (note,) = timeline(runtime, sam.id, "referral.rejected")
    assert note.summary == "Referral rejected by Olga: Sam is Pat's son"
    (entry,) = audit_entries(runtime, "reject_referral")
    assert (entry.before, entry.after) == ({"status": "review"}, {"status": "rejected", "reason": "Sam is Pat's son"})
    assert "No referral waits for review" in done.text


def test_a_due_reward_is_issued_with_the_settings_amount_and_method(runtime: Runtime, client: TestClient) -> None:
    referral_id, _ = referred_sam(runtime, reward_issue="manual")
    csrf = _as(runtime, client, "Olga", "operations")

    page = client.get("/referrals").text
    assert "Issue $50.00 gift card to Pat Doe" in page

    done = client.post(f"/referrals/{referral_id}/reward", data={"csrf_token": csrf})

    assert "Reward issued for the referral of Sam Lee (now rewarded)" in done.text
    assert [(w.amount_cents, w.method, w.issued_by) for w in rewards(runtime)] == [(5000, "gift_card", "Olga")]
    pat = customer_named(runtime, "Pat")
    (note,) = timeline(runtime, pat.id, "referral.rewarded")
    assert note.summary == "Referral reward issued: $50.00 gift_card for referring Sam Lee"
    (entry,) = audit_entries(runtime, "issue_reward")
    assert entry.after == {"status": "rewarded", "amount_cents": 5000, "method": "gift_card"}
    assert "No reward is due" in done.text and "(1 rewarded)" in done.text


def test_a_csr_sees_referrers_and_enrols_but_neither_decides_nor_pays(runtime: Runtime, client: TestClient) -> None:
    referral_id, code = referred_sam(runtime, reward_issue="manual", min_days_to_milestone=7)
    csrf = _as(runtime, client, "Carla", "office")

    page = client.get("/referrals").text
    assert f'value="https://example.com/r/{code}"' in page and "Pat Doe" in page
    assert "/approve" not in page and "/reject" not in page and "/reward" not in page
    for action in ("approve", "reject", "reward"):
        answer = client.post(f"/referrals/{referral_id}/{action}", data={"csrf_token": csrf, "reason": "x"})
        assert answer.status_code == 403, action
    assert the_referral(runtime).status == "review" and rewards(runtime) == []

    apply(runtime, lead(None, at(100), person=lou(), ref="sub_2"), now=at(100))  # Lou phones in, no code yet
    given = client.post(
        "/referrals/attribute", data={"csrf_token": csrf, "customer": "737.555.0177", "code": code.lower()}
    )
    assert f"Lou Park is referred by code {code} (pending)" in given.text
    (entry,) = audit_entries(runtime, "attribute_referral")
    assert (entry.actor, entry.subject_id) == ("Carla", customer_named(runtime, "Lou").id)
    wrong = client.post("/referrals/attribute", data={"csrf_token": csrf, "customer": "737.555.0177", "code": "ZZZ"})
    assert "matches no active referrer" in wrong.text

    unknown = client.post("/referrers", data={"csrf_token": csrf, "customer": "(999) 555-0000"})
    assert "no customer with id, phone or email" in unknown.text
    enrolled = client.post("/referrers", data={"csrf_token": csrf, "customer": "(737) 555-0123"})
    assert "Enrolled Sam Lee, code" in enrolled.text and "Referrers (2)" in enrolled.text
    assert len(all_referrers(runtime)) == 2
    (entry,) = audit_entries(runtime, "enrol_referrer")
    assert (entry.actor, entry.actor_role, entry.subject_id) == ("Carla", "office", customer_named(runtime, "Sam").id)


@pytest.mark.parametrize("role", ["dispatcher", "sales", "technician"])
def test_other_roles_have_no_referrals_page(runtime: Runtime, client: TestClient, role: str) -> None:
    referral_id, _ = referred_sam(runtime, require_approval=True)
    csrf = _as(runtime, client, "Dan", role)

    assert 'href="/referrals"' not in client.get("/").text
    assert client.get("/referrals").status_code == 403
    assert client.post(f"/referrals/{referral_id}/approve", data={"csrf_token": csrf}).status_code == 403
    assert client.post("/referrers", data={"csrf_token": csrf, "customer": "x"}).status_code == 403


def test_empty_lists_say_what_they_mean(runtime: Runtime, client: TestClient) -> None:
    _as(runtime, client, "Olga", "owner")
    page = client.get("/referrals").text
    assert "No referral waits for review" in page
    assert "rewards are issued automatically" in page
    assert "Nobody is enrolled yet" in page and "enrol one by hand below" in page
