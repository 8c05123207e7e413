"""Job and estimate lifecycle rules: which status an event sets and whether it may replace the current one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from fieldrelay.domain import events as ev


class JobStatus(StrEnum):
    """Where a job stands; the order of the happy path is booked → … → paid."""

    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    DISPATCHED = "dispatched"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    INVOICED = "invoiced"
    PAID = "paid"
    CANCELLED = "cancelled"


class EstimateStatus(StrEnum):
    """Where an estimate stands."""

    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"


# Rank breaks ties between two events stamped with the same vendor second (vendors send second
# precision, and "completed" and "paid" on site often share one): the later stage wins.
_JOB_RANK: dict[JobStatus, int] = {
    JobStatus.BOOKED: 1,
    JobStatus.RESCHEDULED: 2,
    JobStatus.DISPATCHED: 3,
    JobStatus.ARRIVED: 4,
    JobStatus.COMPLETED: 5,
    JobStatus.INVOICED: 6,
    JobStatus.PAID: 7,
    JobStatus.CANCELLED: 8,
}

_EVENT_STATUS: dict[type[ev.JobEvent], JobStatus] = {
    ev.JobBooked: JobStatus.BOOKED,
    ev.JobRescheduled: JobStatus.RESCHEDULED,
    ev.JobDispatched: JobStatus.DISPATCHED,
    ev.JobArrived: JobStatus.ARRIVED,
    ev.JobCompleted: JobStatus.COMPLETED,
    ev.JobInvoiced: JobStatus.INVOICED,
    ev.PaymentCaptured: JobStatus.PAID,
    ev.JobCancelled: JobStatus.CANCELLED,
}

_ESTIMATE_STATUS: dict[type[ev.EstimateEvent], EstimateStatus] = {
    ev.EstimateSent: EstimateStatus.SENT,
    ev.EstimateAccepted: EstimateStatus.ACCEPTED,
    ev.EstimateDeclined: EstimateStatus.DECLINED,
}


def job_status_for(event: ev.JobEvent) -> JobStatus:
    """The status a job event sets."""
    return _EVENT_STATUS[type(event)]


def estimate_status_for(event: ev.EstimateEvent) -> EstimateStatus:
    """The status an estimate event sets."""
    return _ESTIMATE_STATUS[type(event)]


def job_rank(status: JobStatus | str) -> int:
    """Position of a status on the lifecycle, for tie-breaking."""
    return _JOB_RANK[JobStatus(status)]


def supersedes(
    new_at: datetime,
    new_status: JobStatus | str,
    current_at: datetime | None,
    current_status: JobStatus | str | None,
) -> bool:
    """Whether an event at ``new_at`` setting ``new_status`` may replace the current state.

    An older event never rolls a newer state back; at the same instant the later lifecycle stage wins.
    Re-applying the identical state is not a change.
    """
    if current_at is None or current_status is None:
        return True
    if new_at != current_at:
        return new_at > current_at
    return job_rank(new_status) > job_rank(current_status)


def estimate_supersedes(new_at: datetime, current_at: datetime | None) -> bool:
    """Whether an estimate event may replace the estimate's current state (strictly newer only)."""
    return current_at is None or new_at > current_at


def lifecycle_stage(job_statuses: list[str], has_estimate: bool) -> str:
    """The customer's stage derived from their jobs: lead, prospect, scheduled or customer."""
    done = {JobStatus.COMPLETED, JobStatus.INVOICED, JobStatus.PAID}
    open_ = {JobStatus.BOOKED, JobStatus.RESCHEDULED, JobStatus.DISPATCHED, JobStatus.ARRIVED}
    statuses = {JobStatus(s) for s in job_statuses}
    if statuses & done:
        return "customer"
    if statuses & open_:
        return "scheduled"
    if has_estimate:
        return "prospect"
    return "lead"
