"""Helpers for the referral tests: a referrer with paid work behind them, a referred lead, rows read back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.referrals import program as referrals
from fieldrelay.storage.handoff.tables import referral_rewards, referrers
from fieldrelay.storage.handoff.tables import referrals as referral_table
from tests.conftest import TEST_YAML
from tests.service.support import HCP, apply, at, job_event, only_customer, rows

# The test configuration with only the referral program's two sequences (the rest of the library stays off).
REFERRAL_YAML = TEST_YAML.replace(
    "sequences: {}\n",
    """sequences:
  referral_invite:
    trigger: referrer.enrolled
    category: marketing
    exit_on: [opted_out]
    steps: [{name: invite, after: 0m, channel: sms, template: referral_invite}]
  referral_thanks:
    trigger: referral.rewarded
    category: transactional
    steps: [{name: thanks, after: 0m, channel: sms, template: referral_thanks}]
referrals:
  enabled: true
  milestone: paid
  reward_cents: 5000
  reward_method: gift_card
  max_referrals: 5
  window_days: 30
  link_base_url: https://example.com/r/
""",
)

SAM_PHONE = "+1 737 555 0123"
SAM_E164 = "+17375550123"


def referral_settings(extra: str = "") -> Settings:
    """Test settings with the referral program on; ``extra`` YAML appended."""
    return parse_settings(REFERRAL_YAML + extra, "test.yaml")


def configure(runtime: Runtime, **changes: Any) -> None:
    """Change ``referrals:`` settings of a running test."""
    updated = runtime.settings.referrals.model_copy(update=changes)
    runtime.settings = runtime.settings.model_copy(update={"referrals": updated})


def pat_with_address(**changes: Any) -> ev.CustomerSnapshot:
    """Pat, the referrer, with her address."""
    address = ev.Address(street="12 Oak St", city="Austin", state="TX", postal_code="78701")
    return ev.CustomerSnapshot(
        external_id="cus_1",
        first_name="Pat",
        last_name="Doe",
        phones=("(512) 555-0142",),
        emails=("pat.doe@example.com",),
        address=address,
        **changes,
    )


def sam(**changes: Any) -> ev.CustomerSnapshot:
    """Sam, a neighbour Pat refers: nothing in common with her unless a test says so."""
    values: dict[str, Any] = {
        "external_id": "sub_1",
        "first_name": "Sam",
        "last_name": "Lee",
        "phones": (SAM_PHONE,),
        "emails": ("sam.lee@example.com",),
        "address": ev.Address(street="400 Elm Ave", city="Austin", state="TX", postal_code="78702"),
    }
    values.update(changes)
    return ev.CustomerSnapshot(**values)


def lou() -> ev.CustomerSnapshot:
    """Lou, a second person Pat refers: no address, nothing shared with Pat or Sam."""
    return sam(
        external_id="sub_2",
        first_name="Lou",
        last_name="Park",
        phones=("+1 737 555 0177",),
        emails=("lou@example.com",),
        address=None,
    )


def enrolled_pat(runtime: Runtime) -> tuple[str, str]:
    """Pat with a paid job, enrolled by hand; (her customer id, her code)."""
    apply(runtime, job_event(ev.PaymentCaptured, at(-600), customer=pat_with_address()), now=at(-600))
    customer_id = only_customer(runtime).id
    with runtime.unit_of_work(runtime.settings.account_id) as ctx:
        referrer, _ = referrals.enrol(ctx, customer_id, "hand", by="Dana")
    return customer_id, referrer.code


def lead(
    code: str | None, occurred_at: datetime, person: ev.CustomerSnapshot | None = None, ref: str = "sub_1"
) -> ev.LeadReceived:
    """A web-form lead carrying a referral code."""
    return ev.LeadReceived(
        source="forms",
        occurred_at=occurred_at,
        customer=person or sam(external_id=ref),
        lead_ref=ref,
        channel="web_form",
        service="Drain cleaning",
        referral_code=code,
    )


def sam_job(kind: type[ev.JobEvent], occurred_at: datetime, job_id: str = "job_s1", **extra: Any) -> ev.JobEvent:
    """A job event for Sam in Housecall Pro (his own vendor id; identity matching folds him into the lead)."""
    return kind(
        source=HCP,
        occurred_at=occurred_at,
        customer=sam(external_id="hcp_sam"),
        job=ev.JobSnapshot(external_id=job_id, service_type="Drain cleaning", total_cents=45000),
        **extra,
    )


def the_referral(runtime: Runtime) -> Any:
    """The one referral."""
    (row,) = rows(runtime, referral_table)
    return row


def all_referrals(runtime: Runtime) -> list[Any]:
    """Every referral."""
    return rows(runtime, referral_table)


def rewards(runtime: Runtime) -> list[Any]:
    """Rewards issued."""
    return rows(runtime, referral_rewards)


def all_referrers(runtime: Runtime) -> list[Any]:
    """Every referrer."""
    return rows(runtime, referrers)
