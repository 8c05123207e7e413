"""Job lifecycle: which event wins when they arrive late or share a timestamp, and the customer's stage."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.domain.lifecycle import (
    EstimateStatus,
    JobStatus,
    estimate_status_for,
    estimate_supersedes,
    job_rank,
    job_status_for,
    lifecycle_stage,
    supersedes,
)

T0 = datetime(2026, 3, 5, 20, 31, 18, tzinfo=UTC)
HAPPY_PATH = [
    JobStatus.BOOKED,
    JobStatus.RESCHEDULED,
    JobStatus.DISPATCHED,
    JobStatus.ARRIVED,
    JobStatus.COMPLETED,
    JobStatus.INVOICED,
    JobStatus.PAID,
]


def test_first_event_always_applies() -> None:
    assert supersedes(T0, JobStatus.BOOKED, None, None)
    assert supersedes(T0, JobStatus.PAID, None, JobStatus.BOOKED)
    assert supersedes(T0, "cancelled", T0, None)


@pytest.mark.parametrize("new", list(JobStatus))
@pytest.mark.parametrize("current", list(JobStatus))
def test_older_event_never_wins(new: JobStatus, current: JobStatus) -> None:
    """A late event is logged, never applied, whatever the stages (a late 'dispatched' after 'completed')."""
    assert not supersedes(T0 - timedelta(seconds=1), new, T0, current)


@pytest.mark.parametrize("new", list(JobStatus))
@pytest.mark.parametrize("current", list(JobStatus))
def test_newer_event_always_wins(new: JobStatus, current: JobStatus) -> None:
    """A newer event applies even when it moves back along the path (a reschedule after dispatch)."""
    assert supersedes(T0 + timedelta(microseconds=1), new, T0, current)


def test_tie_later_stage_wins() -> None:
    """Completed and paid stamped in the same second: paid wins whichever arrives first."""
    assert supersedes(T0, JobStatus.PAID, T0, JobStatus.COMPLETED)
    assert not supersedes(T0, JobStatus.COMPLETED, T0, JobStatus.PAID)
    for earlier, later in itertools.pairwise(HAPPY_PATH):
        assert supersedes(T0, later, T0, earlier)
        assert not supersedes(T0, earlier, T0, later)


@pytest.mark.parametrize("status", list(JobStatus))
def test_tie_same_status_is_not_a_change(status: JobStatus) -> None:
    assert not supersedes(T0, status, T0, status)


@pytest.mark.parametrize("status", HAPPY_PATH)
def test_tie_cancelled_beats_every_stage(status: JobStatus) -> None:
    assert supersedes(T0, JobStatus.CANCELLED, T0, status)
    assert not supersedes(T0, status, T0, JobStatus.CANCELLED)


def test_cancelled_can_be_followed_by_a_newer_booking() -> None:
    assert supersedes(T0 + timedelta(hours=1), JobStatus.BOOKED, T0, JobStatus.CANCELLED)


def test_same_instant_in_another_zone_is_a_tie() -> None:
    chicago = T0.astimezone(timezone(timedelta(hours=-6)))
    assert not supersedes(chicago, JobStatus.COMPLETED, T0, JobStatus.PAID)
    assert supersedes(chicago, JobStatus.PAID, T0, JobStatus.COMPLETED)


def test_statuses_accepted_as_plain_strings() -> None:
    assert supersedes(T0, "paid", T0, "completed")
    assert job_rank("booked") < job_rank("paid") < job_rank("cancelled")
    with pytest.raises(ValueError):
        job_rank("on hold")


def test_job_rank_follows_the_happy_path() -> None:
    assert [job_rank(s) for s in HAPPY_PATH] == sorted(job_rank(s) for s in HAPPY_PATH)
    assert job_rank(JobStatus.CANCELLED) == max(job_rank(s) for s in JobStatus)


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (ev.JobBooked, JobStatus.BOOKED),
        (ev.JobRescheduled, JobStatus.RESCHEDULED),
        (ev.JobDispatched, JobStatus.DISPATCHED),
        (ev.JobArrived, JobStatus.ARRIVED),
        (ev.JobCompleted, JobStatus.COMPLETED),
        (ev.JobInvoiced, JobStatus.INVOICED),
        (ev.PaymentCaptured, JobStatus.PAID),
        (ev.JobCancelled, JobStatus.CANCELLED),
    ],
)
def test_job_status_for(event: type[ev.JobEvent], status: JobStatus) -> None:
    assert job_status_for(event(source="t", occurred_at=T0, customer=None)) is status


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (ev.EstimateSent, EstimateStatus.SENT),
        (ev.EstimateAccepted, EstimateStatus.ACCEPTED),
        (ev.EstimateDeclined, EstimateStatus.DECLINED),
    ],
)
def test_estimate_status_for(event: type[ev.EstimateEvent], status: EstimateStatus) -> None:
    assert estimate_status_for(event(source="t", occurred_at=T0, customer=None)) is status


def test_estimate_supersedes_strictly_newer_only() -> None:
    assert estimate_supersedes(T0, None)
    assert estimate_supersedes(T0 + timedelta(seconds=1), T0)
    assert not estimate_supersedes(T0, T0)
    assert not estimate_supersedes(T0 - timedelta(seconds=1), T0)


@pytest.mark.parametrize(
    ("statuses", "has_estimate", "stage"),
    [
        ([], False, "lead"),
        ([], True, "prospect"),
        (["cancelled"], False, "lead"),
        (["cancelled"], True, "prospect"),
        (["booked"], False, "scheduled"),
        (["rescheduled"], True, "scheduled"),
        (["dispatched", "cancelled"], False, "scheduled"),
        (["arrived"], False, "scheduled"),
        (["completed"], False, "customer"),
        (["invoiced"], False, "customer"),
        (["paid"], True, "customer"),
        (["cancelled", "booked", "paid"], True, "customer"),
    ],
)
def test_lifecycle_stage(statuses: list[str], has_estimate: bool, stage: str) -> None:
    assert lifecycle_stage(statuses, has_estimate) == stage


def test_lifecycle_stage_rejects_unknown_status() -> None:
    with pytest.raises(ValueError):
        lifecycle_stage(["on hold"], has_estimate=False)
