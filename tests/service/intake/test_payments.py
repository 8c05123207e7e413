"""Payment handler driven through the bus: match by job reference, else by the payer; refunds on the timeline."""

from __future__ import annotations

from typing import Any

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.service.context import Unattachable
from fieldrelay.storage.tables import activities, external_ids, jobs, messages, timers
from tests.service.support import (
    HCP,
    STRANGER,
    apply,
    at,
    count,
    job_event,
    only_customer,
    rows,
    timeline,
)

STRIPE = "stripe"
REVIEW_DELAY_MINUTES = 30


def payment(
    ref: str,
    minutes: float,
    *,
    job_ref: str | None = None,
    job_source: str | None = None,
    phones: tuple[str, ...] = (),
    emails: tuple[str, ...] = (),
    amount: int | None = 45000,
) -> ev.PaymentReceived:
    """A Stripe payment ``minutes`` after the test start, carrying what the shop attached to it."""
    payer = ev.CustomerSnapshot(external_id="", phones=phones, emails=emails) if phones or emails else None
    return ev.PaymentReceived(
        source=STRIPE,
        occurred_at=at(minutes),
        customer=payer,
        payment_ref=ref,
        amount_cents=amount,
        currency="usd",
        job_ref=job_ref,
        job_source=job_source,
    )


def refund(ref: str, minutes: float, **kwargs: Any) -> ev.PaymentRefunded:
    """A Stripe refund ``minutes`` after the test start."""
    kwargs.setdefault("customer", None)
    return ev.PaymentRefunded(source=STRIPE, occurred_at=at(minutes), currency="usd", payment_ref=ref, **kwargs)


def job(runtime: Runtime, external_id: str = "job_1") -> Any:
    """The mirror row of a Housecall Pro job."""
    (row,) = rows(runtime, jobs, jobs.c.id == _mirror_id(runtime, external_id))
    return row


def _mirror_id(runtime: Runtime, external_id: str) -> str:
    (link,) = rows(runtime, external_ids, external_ids.c.kind == "job", external_ids.c.external_id == external_id)
    return str(link.entity_id)


def completed_job(runtime: Runtime, job_id: str = "job_1", completed_minutes: float = -20) -> None:
    """Pat's job, booked and completed in the field tool, not yet paid."""
    booked, completed = at(completed_minutes - 600), at(completed_minutes)
    apply(runtime, job_event(ev.JobBooked, booked, job_id), job_event(ev.JobCompleted, completed, job_id))


def test_a_payment_with_a_job_reference_marks_that_job_paid_and_schedules_one_review_request(
    runtime: Runtime,
) -> None:
    completed_job(runtime)
    apply(runtime, payment("pi_1", -5, job_ref="job_1", job_source=HCP))

    paid = job(runtime)
    assert (paid.status, paid.status_at, paid.paid_at, paid.balance_cents) == ("paid", at(-5), at(-5), 0)
    customer = only_customer(runtime)
    assert customer.lifecycle_stage == "customer"
    (activity,) = timeline(runtime, customer.id, "job.paid")
    assert (activity.summary, activity.applied, activity.source) == (
        "Payment captured ($450.00) (pi_1)",
        True,
        STRIPE,
    )
    (timer,) = rows(runtime, timers)
    assert (timer.kind, timer.key, timer.due_at) == (
        "review_request",
        f"review_request:{paid.id}",
        at(-5 + REVIEW_DELAY_MINUTES),
    )
    (message,) = rows(runtime, messages)
    assert (message.status, message.purpose, message.job_id, message.to_address) == (
        "scheduled",
        "review_request",
        paid.id,
        "+15125550142",
    )

    # A second payment on the same job (the balance, a tip) plans nothing more.
    apply(runtime, payment("pi_2", -1, job_ref="job_1", job_source=HCP, amount=5000))
    assert count(runtime, timers) == 1
    assert count(runtime, messages) == 1
    assert [a.summary for a in timeline(runtime, customer.id, "job.paid")] == [
        "Payment captured ($450.00) (pi_1)",
        "Payment captured ($50.00) (pi_2)",
    ]


def test_a_payment_with_a_mirror_job_id_and_no_source_marks_that_job_paid(runtime: Runtime) -> None:
    completed_job(runtime)
    mirror_id = _mirror_id(runtime, "job_1")
    apply(runtime, payment("pi_1", -5, job_ref=mirror_id))
    assert job(runtime).status == "paid"


def test_a_payment_with_only_an_email_pays_the_customers_latest_open_job(runtime: Runtime) -> None:
    completed_job(runtime, "job_old", completed_minutes=-3000)
    apply(runtime, job_event(ev.PaymentCaptured, at(-2900), "job_old", payment_ref="job:job_old"))
    completed_job(runtime, "job_new", completed_minutes=-20)
    assert count(runtime, timers) == 1  # the old job's review request

    apply(runtime, payment("pi_1", -5, emails=("PAT.DOE@example.com",)))

    assert job(runtime, "job_new").status == "paid"
    assert job(runtime, "job_old").status_at == at(-2900), "the already paid job is left alone"
    assert count(runtime, timers) == 2


def test_a_payment_with_only_a_phone_pays_the_open_job(runtime: Runtime) -> None:
    completed_job(runtime)
    apply(runtime, payment("pi_1", -5, phones=("512-555-0142",)))
    assert job(runtime).status == "paid"


def test_a_payment_with_an_unknown_job_reference_falls_back_to_the_payer(runtime: Runtime) -> None:
    completed_job(runtime)
    apply(runtime, payment("pi_1", -5, job_ref="job_elsewhere", job_source=HCP, emails=("pat.doe@example.com",)))
    assert job(runtime).status == "paid"


def test_a_payment_from_a_known_customer_without_an_open_job_is_noted_on_their_timeline(runtime: Runtime) -> None:
    completed_job(runtime)
    apply(runtime, job_event(ev.JobCancelled, at(-10), reason="customer changed their mind"))
    apply(runtime, payment("pi_1", -5, emails=("pat.doe@example.com",)))

    assert job(runtime).status == "cancelled"
    (row,) = timeline(runtime, only_customer(runtime).id, "payment.unmatched")
    assert (row.summary, row.applied) == ("Payment captured ($450.00) (pi_1) — no open job to attach it to", True)
    assert count(runtime, timers) == 0


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(payment("pi_1", -5), id="nothing-to-match"),
        pytest.param(payment("pi_1", -5, emails=("someone@else.com",), phones=(STRANGER,)), id="unknown-payer"),
        pytest.param(payment("pi_1", -5, job_ref="job_404", job_source=HCP), id="unknown-job"),
    ],
)
def test_a_payment_matching_nothing_is_unattachable(runtime: Runtime, event: ev.PaymentReceived) -> None:
    completed_job(runtime)
    before = count(runtime, activities)
    with pytest.raises(Unattachable, match="payment pi_1"):
        apply(runtime, event)
    assert count(runtime, activities) == before
    assert job(runtime).status == "completed"


def test_a_payment_older_than_the_jobs_later_state_is_logged_not_applied(runtime: Runtime) -> None:
    completed_job(runtime)
    apply(runtime, job_event(ev.JobCancelled, at(-5), reason="refused the work"))
    apply(runtime, payment("pi_1", -10, job_ref="job_1", job_source=HCP))

    cancelled = job(runtime)
    assert (cancelled.status, cancelled.status_at, cancelled.paid_at) == ("cancelled", at(-5), None)
    (late,) = timeline(runtime, only_customer(runtime).id, "job.paid")
    assert late.applied is False
    assert late.at == at(-10)
    assert (
        late.summary
        == "Payment captured ($450.00) (pi_1) — not applied: the job is already cancelled as of a later event"
    )
    assert count(runtime, timers) == 0
    assert count(runtime, messages) == 0


def test_a_refund_adds_an_activity_and_keeps_the_job_paid(runtime: Runtime) -> None:
    completed_job(runtime)
    apply(runtime, payment("pi_1", -10, job_ref="job_1", job_source=HCP))
    apply(runtime, refund("pi_1", -2, amount_cents=10000, job_ref="job_1", job_source=HCP))

    assert job(runtime).status == "paid"
    (row,) = timeline(runtime, only_customer(runtime).id, "payment.refunded")
    assert (row.summary, row.applied, row.at, row.source) == ("Refund issued ($100.00) (pi_1)", True, at(-2), STRIPE)
    assert count(runtime, timers) == 1


def test_a_refund_matched_by_email_goes_on_the_customers_timeline(runtime: Runtime) -> None:
    completed_job(runtime)
    payer = ev.CustomerSnapshot(external_id="", emails=("pat.doe@example.com",))
    apply(runtime, refund("pi_1", -2, amount_cents=None, customer=payer))
    assert [r.summary for r in timeline(runtime, only_customer(runtime).id, "payment.refunded")] == [
        "Refund issued (pi_1)"
    ]


def test_a_refund_matching_nothing_is_unattachable(runtime: Runtime) -> None:
    with pytest.raises(Unattachable):
        apply(runtime, refund("pi_1", -2, amount_cents=100, customer=None))
