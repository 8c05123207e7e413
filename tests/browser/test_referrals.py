"""Referrals in Chromium: operations rejects a flagged referral with a reason and issues a reward due by hand; a CSR
sees the referrers with their links and enrols a customer, but has no button to decide or pay and gets 403 when she
tries anyway. Each effect is checked in the database, on the customer's timeline and in the audit log."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.referrals import program
from tests.browser.conftest import Screens
from tests.browser.support import sign_in
from tests.service.access.support import add_person, audit_entries
from tests.service.referrals.support import all_referrers, referral_settings, rewards, the_referral
from tests.service.support import apply, at, job_event, timeline
from tests.web.referral_rows import customer_named, referred_sam

pytestmark = pytest.mark.slow
LONG_FIRST, LONG_LAST = "Maximiliana-Josephine Alexandra", "Vanderbilt-Featherstonehaugh de la Cruz"


@pytest.fixture
def settings() -> Settings:
    """The referral program on (reward: a $50.00 gift card)."""
    return referral_settings()


def _long_named_referrer(runtime: Runtime) -> str:
    """A customer with a long name, no phone and no email, enrolled by hand; their code."""
    person = ev.CustomerSnapshot(external_id="cus_long", first_name=LONG_FIRST, last_name=LONG_LAST)
    apply(runtime, job_event(ev.JobCompleted, at(-300), customer=person), now=at(-300))
    customer_id = customer_named(runtime, LONG_FIRST).id
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        referrer, _ = program.enrol(ctx, customer_id, "hand", by="Olga")
    return referrer.code


def test_operations_rejects_a_flagged_referral_with_a_reason(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    referral_id, code = referred_sam(runtime, min_days_to_milestone=7)  # paid an hour after the lead: too fast
    long_code = _long_named_referrer(runtime)
    add_person(runtime, "Olga", "operations")
    sign_in(page, server, "Olga")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Referrals").click()
    card = page.locator(f"#review-{referral_id[:8]}")
    expect(card).to_contain_text("Sam Lee")
    expect(card).to_contain_text("too fast")
    expect(page.locator(f"#referrer-{code}")).to_contain_text("Pat Doe")
    expect(page.locator(f"#referrer-{long_code}")).to_contain_text(f"{LONG_FIRST} {LONG_LAST}")
    expect(page.get_by_label(f"Link of {LONG_FIRST} {LONG_LAST}")).to_have_value(f"https://example.com/r/{long_code}")
    screens.save(page, "referrals")
    page.evaluate("window.notReloaded = true")

    card.get_by_text("Reject", exact=True).click()
    card.get_by_role("button", name="Reject the referral").click()  # no reason: the browser asks for one
    assert the_referral(runtime).status == "review"
    card.get_by_label("Why it is rejected").fill("Sam lives with Pat: the same household")
    screens.save(page, "referrals-reject-form")
    card.get_by_role("button", name="Reject the referral").click()

    expect(page.get_by_role("status")).to_contain_text("Rejected the referral of Sam Lee")
    expect(page.get_by_text("No referral waits for review")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    row = the_referral(runtime)
    assert (row.status, row.decided_by, row.reason) == ("rejected", "Olga", "Sam lives with Pat: the same household")
    assert rewards(runtime) == []
    (note,) = timeline(runtime, row.referred_customer_id, "referral.rejected")
    assert note.summary == "Referral rejected by Olga: Sam lives with Pat: the same household"
    (entry,) = audit_entries(runtime, "reject_referral")
    assert (entry.actor, entry.via, entry.subject_id, entry.before) == (
        "Olga",
        "web",
        referral_id,
        {"status": "review"},
    )


def test_operations_issues_a_reward_due_by_hand(runtime: Runtime, server: str, page: Page, screens: Screens) -> None:
    referral_id, _ = referred_sam(runtime, reward_issue="manual")
    add_person(runtime, "Olga", "owner")
    sign_in(page, server, "Olga")
    page.goto(server + "/referrals")

    due = page.locator(f"#due-{referral_id[:8]}")
    expect(due).to_contain_text("Pat Doe")
    screens.save(page, "referrals-due")
    due.get_by_role("button", name="Issue $50.00 gift card to Pat Doe").click()

    expect(page.get_by_role("status")).to_contain_text("Reward issued for the referral of Sam Lee")
    expect(page.get_by_text("No reward is due")).to_be_visible()
    assert [(w.referral_id, w.amount_cents, w.method, w.issued_by) for w in rewards(runtime)] == [
        (referral_id, 5000, "gift_card", "Olga")
    ]
    pat = customer_named(runtime, "Pat")
    assert [a.summary for a in timeline(runtime, pat.id, "referral.rewarded")] == [
        "Referral reward issued: $50.00 gift_card for referring Sam Lee"
    ]
    (entry,) = audit_entries(runtime, "issue_reward")
    assert (entry.actor, entry.after) == ("Olga", {"status": "rewarded", "amount_cents": 5000, "method": "gift_card"})


def test_a_csr_enrols_a_referrer_but_cannot_decide_or_pay(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    referral_id, code = referred_sam(runtime, require_approval=True, reward_issue="manual")
    add_person(runtime, "Carla", "office")
    sign_in(page, server, "Carla")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Referrals").click()

    expect(page.locator(f"#review-{referral_id[:8]}")).to_contain_text("Sam Lee")
    expect(page.get_by_role("button", name="Approve Sam Lee")).to_have_count(0)
    expect(page.get_by_text("Reject", exact=True)).to_have_count(0)
    expect(page.get_by_label("Link of Pat Doe")).to_have_value(f"https://example.com/r/{code}")
    # Even a request made by hand, with her valid CSRF token, is refused.
    status = page.evaluate(
        """async (id) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'];
            const answer = await fetch(`/referrals/${id}/approve`, {method: 'POST', headers: {'X-CSRF-Token': token}});
            return answer.status;
        }""",
        referral_id,
    )
    assert status == 403 and the_referral(runtime).status == "review"

    page.get_by_label("Customer's phone, email or id").fill("(737) 555-0123")
    page.get_by_role("button", name="Enrol").click()

    expect(page.get_by_role("status")).to_contain_text("Enrolled Sam Lee, code")
    sam = customer_named(runtime, "Sam")
    (new,) = [r for r in all_referrers(runtime) if r.customer_id == sam.id]
    expect(page.locator(f"#referrer-{new.code}")).to_contain_text("Sam Lee")
    screens.save(page, "referrals-csr")
    assert any(new.code in a.summary for a in timeline(runtime, sam.id, "referral.enrolled"))
    (entry,) = audit_entries(runtime, "enrol_referrer")
    assert (entry.actor, entry.actor_role, entry.subject_id) == ("Carla", "office", sam.id)


def test_an_empty_program_says_what_each_list_means(
    runtime: Runtime, server: str, page: Page, screens: Screens
) -> None:
    add_person(runtime, "Olga", "operations")
    sign_in(page, server, "Olga")
    page.goto(server + "/referrals")
    expect(page.get_by_text("No referral waits for review")).to_be_visible()
    expect(page.get_by_text("Nobody is enrolled yet")).to_be_visible()
    screens.save(page, "referrals-empty")
