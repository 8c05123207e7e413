"""The referral figures of `fieldrelay report` and the JSON report, from known data."""

from __future__ import annotations

from io import StringIO

import pytest
from rich.console import Console

from fieldrelay.domain import events as ev
from fieldrelay.reports.kpi import build_report, print_report
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from tests.service.referrals.support import configure, enrolled_pat, lead, lou, referral_settings, sam, sam_job
from tests.service.support import apply, at


@pytest.fixture
def settings() -> Settings:
    """The referral program on, rewards issued by hand so one stays pending."""
    return referral_settings()


def test_report_counts_enrolments_referrals_rewards_and_referred_revenue(runtime: Runtime) -> None:
    _, code = enrolled_pat(runtime)
    # Sam: referred, paid $450 -> rewarded.
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    # Lou: referred, paid too, but rewards are now issued by hand -> qualified, pending.
    configure(runtime, reward_issue="manual")
    second = lou()
    apply(runtime, lead(code, at(100), second, ref="sub_2"), now=at(100))
    lou_paid = ev.PaymentCaptured(
        source="housecallpro",
        occurred_at=at(200),
        customer=second,
        job=ev.JobSnapshot(external_id="job_l1", total_cents=30000),
        amount_cents=30000,
    )
    apply(runtime, lou_paid, now=at(200))
    # Kim: a lead with a code but no job yet -> pending.
    kim = sam(
        external_id="sub_3",
        first_name="Kim",
        last_name="Ng",
        phones=("+1 737 555 0166",),
        emails=("kim@example.com",),
        address=None,
    )
    apply(runtime, lead(code, at(300), kim, ref="sub_3"), now=at(300))

    report = build_report(runtime)

    figures = report.as_json()["referrals"]
    assert figures == {
        "referrers": 1,
        "referred": 3,
        "by_status": {"rewarded": 1, "qualified": 1, "pending": 1},
        "qualified": 2,
        "rewards_issued": 1,
        "rewards_issued_cents": 5000,
        "rewards_pending": 1,
        "referred_revenue_cents": 75000,
        "qualification_rate": pytest.approx(2 / 3),
    }
    out = StringIO()
    print_report(report, Console(file=out, width=160))
    printed = out.getvalue()
    assert "Referral program" in printed and "2 (67%)" in printed and "$750.00" in printed
