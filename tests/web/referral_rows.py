"""Referral situations for the office app's tests: one flagged for review, one whose reward is due by hand."""

from __future__ import annotations

from typing import Any

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import customers
from tests.service.referrals.support import configure, enrolled_pat, lead, sam_job, the_referral
from tests.service.support import apply, at, rows


def referred_sam(runtime: Runtime, **changes: Any) -> tuple[str, str]:
    """Pat (enrolled) refers Sam, whose first job is paid an hour later; (the referral's id, Pat's code).

    ``changes`` are ``referrals:`` settings applied first (``min_days_to_milestone=7`` flags it as too fast,
    ``reward_issue="manual"`` leaves its reward due).
    """
    configure(runtime, **changes)
    _, code = enrolled_pat(runtime)
    apply(runtime, lead(code, at(0)), now=at(0))
    apply(runtime, sam_job(ev.PaymentCaptured, at(60), amount_cents=45000), now=at(60))
    return str(the_referral(runtime).id), code


def customer_named(runtime: Runtime, first_name: str) -> Any:
    """The live customer with this first name."""
    (row,) = rows(runtime, customers, customers.c.first_name == first_name, customers.c.merged_into.is_(None))
    return row
