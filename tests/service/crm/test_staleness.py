"""The stale-record check on plain data: which customers the CRM lags by more than the threshold, and the rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.service.crm.ports import MirroredJob
from fieldrelay.service.crm.staleness import ReceivedEvent, Ref, Staleness, check_staleness, references

HCP = "housecallpro"
T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=30)
THRESHOLD = 15.0
OWNERS: dict[Ref, str] = {
    (HCP, "customer", "cus_1"): "C1",
    (HCP, "job", "job_1"): "C1",
    (HCP, "customer", "cus_2"): "C2",
    (HCP, "job", "job_2"): "C2",
    ("stripe", "payment", "pi_1"): "C2",
}


def job_event(kind: type[ev.JobEvent], at: datetime, job: str = "job_1", customer: str | None = "cus_1") -> ev.JobEvent:
    """A Housecall Pro job event, with the customer embedded unless ``customer`` is None."""
    snapshot = ev.CustomerSnapshot(external_id=customer) if customer else None
    return kind(source=HCP, occurred_at=at, customer=snapshot, job=ev.JobSnapshot(external_id=job))


def row(
    event: ev.FieldEvent,
    status: str = "done",
    received_at: datetime = T0,
    row_id: int = 1,
    error: str | None = None,
) -> ReceivedEvent:
    """An event re-read from an inbox row in ``status``."""
    return ReceivedEvent(event, row_id, status, received_at, error)


def run(
    *items: ReceivedEvent, jobs: dict[tuple[str, str], MirroredJob] | None = None, now: datetime = NOW
) -> Staleness:
    """Check with the shared owners and a mirror where job_1 is booked as of T0 - 1 h, unless told otherwise."""
    mirror = {(HCP, "job_1"): MirroredJob("booked", T0 - timedelta(hours=1))} if jobs is None else jobs
    return check_staleness(items, OWNERS, mirror, now, THRESHOLD)


BOOKED = job_event(ev.JobBooked, T0 - timedelta(hours=1))


def test_pending_row_older_than_the_threshold_is_stale() -> None:
    result = run(row(BOOKED, status="pending"))
    assert len(result.stale) == 1
    stale = result.stale[0]
    assert (stale.customer_id, stale.label) == ("C1", "housecallpro customer cus_1")
    assert stale.reason == "pending since 2026-11-02 15:00Z"
    assert (stale.since, stale.lag_minutes) == (T0, 30.0)
    assert (result.records, result.rate, result.stale_after_minutes, result.checked_at) == (1, 1.0, 15.0, NOW)


@pytest.mark.parametrize("status", ["pending", "processing", "error", "dead"])
def test_an_unfinished_row_younger_than_the_threshold_is_in_flight(status: str) -> None:
    result = run(row(BOOKED, status=status, received_at=NOW - timedelta(minutes=14)))
    assert (result.stale, result.records, result.rate) == ((), 1, 0.0)


def test_exactly_the_threshold_is_not_yet_stale() -> None:
    assert run(row(BOOKED, status="pending", received_at=NOW - timedelta(minutes=15))).stale == ()
    assert len(run(row(BOOKED, status="pending", received_at=NOW - timedelta(minutes=15, seconds=1))).stale) == 1


@pytest.mark.parametrize("status", ["error", "dead"])
def test_a_row_in_the_error_queue_is_stale_with_its_error(status: str) -> None:
    result = run(row(BOOKED, status=status, error="boom"))
    assert [s.reason for s in result.stale] == ["webhook in error queue since 2026-11-02 15:00Z: boom"]


def test_finished_and_the_mirror_agrees_is_not_stale() -> None:
    completed = job_event(ev.JobCompleted, T0 - timedelta(minutes=10))
    mirror = {(HCP, "job_1"): MirroredJob("completed", T0 - timedelta(minutes=10))}
    result = run(row(BOOKED), row(completed, row_id=2), jobs=mirror)
    assert (result.stale, result.records) == ((), 1)


def test_finished_but_the_mirror_disagrees_is_stale() -> None:
    completed = job_event(ev.JobCompleted, T0 - timedelta(minutes=10))
    result = run(row(BOOKED, received_at=T0 - timedelta(hours=1)), row(completed, row_id=2))
    assert [(s.customer_id, s.reason, s.since) for s in result.stale] == [
        ("C1", "mirror says booked, latest event says completed as of 2026-11-02 14:50Z", T0)
    ]


def test_finished_but_the_job_is_missing_from_the_mirror_is_stale() -> None:
    result = run(row(BOOKED), jobs={})
    assert [s.reason for s in result.stale] == [
        "mirror says no such job, latest event says booked as of 2026-11-02 14:00Z"
    ]


def test_an_older_event_logged_not_applied_is_reflected() -> None:
    """A late "dispatched" after "completed" is logged, not applied: the mirror rightly stays completed."""
    completed = job_event(ev.JobCompleted, T0 - timedelta(minutes=10))
    late = job_event(ev.JobDispatched, T0 - timedelta(minutes=40))
    mirror = {(HCP, "job_1"): MirroredJob("completed", T0 - timedelta(minutes=10))}
    result = run(row(completed), row(late, row_id=2, received_at=T0 + timedelta(minutes=1)), jobs=mirror)
    assert result.stale == ()


def test_a_mirror_moved_on_by_a_newer_event_is_not_stale() -> None:
    """The payment processor marked the job paid after the field tool's last event: the CRM is ahead, not behind."""
    completed = job_event(ev.JobCompleted, T0 - timedelta(minutes=10))
    mirror = {(HCP, "job_1"): MirroredJob("paid", T0 - timedelta(minutes=5))}
    assert run(row(completed), jobs=mirror).stale == ()


def test_unknown_customer_is_a_stale_record_of_its_own() -> None:
    orphan = job_event(ev.JobCompleted, T0, job="job_9", customer=None)
    result = run(row(BOOKED), row(orphan, status="error", row_id=2, error="job job_9 names no customer"))
    assert result.records == 2
    assert [(s.customer_id, s.label) for s in result.stale] == [(None, "housecallpro job job_9")]
    assert result.rate == 0.5


def test_unknown_customer_of_an_applied_non_job_event_is_counted_but_not_stale() -> None:
    """A refund the handler matched by contact links nothing we can follow; its row is done, so it is reflected."""
    refund = ev.PaymentRefunded(
        source="stripe", occurred_at=T0, customer=ev.CustomerSnapshot(external_id="cus_S"), payment_ref="pi_9"
    )
    result = run(row(refund))
    assert (result.records, result.stale) == (1, ())


def test_events_are_grouped_per_customer_and_the_oldest_unreflected_event_gives_reason_and_lag() -> None:
    second_job = job_event(ev.JobBooked, T0, job="job_3")  # cus_1 again, a job the mirror does not hold yet
    result = run(
        row(BOOKED),
        row(second_job, status="pending", row_id=2, received_at=T0 + timedelta(minutes=5)),
        row(job_event(ev.JobArrived, T0, customer="cus_1"), status="error", row_id=3, error="x"),
    )
    assert result.records == 1
    assert [(s.customer_id, s.reason, s.lag_minutes) for s in result.stale] == [
        ("C1", "webhook in error queue since 2026-11-02 15:00Z: x", 30.0)
    ]


def test_a_payment_is_about_the_customer_its_payment_link_points_at() -> None:
    payment = ev.PaymentReceived(
        source="stripe", occurred_at=T0, customer=ev.CustomerSnapshot(external_id="cus_S"), payment_ref="pi_1"
    )
    result = run(row(payment, status="pending"))
    assert [(s.customer_id, s.label) for s in result.stale] == [("C2", "stripe customer cus_S")]


def test_message_events_name_no_record_and_are_not_counted() -> None:
    reply = ev.ReplyReceived(source="twilio", occurred_at=T0, customer=None, from_address="+15125550142")
    assert references(reply, 1) == []
    assert run(row(reply, status="error")).records == 0


def test_rate_is_stale_records_over_records_with_field_events() -> None:
    items = [
        row(job_event(ev.JobBooked, T0, job=f"job_{n}", customer=f"cus_{n}"), status=status, row_id=n)
        for n, status in ((1, "done"), (2, "done"), (5, "done"), (6, "pending"))
    ]
    mirror = {(HCP, f"job_{n}"): MirroredJob("booked", T0) for n in (1, 2, 5)}
    result = run(*items, jobs=mirror)
    assert (len(result.stale), result.records, result.rate) == (1, 4, 0.25)
    assert run(jobs={}).rate == 0.0
