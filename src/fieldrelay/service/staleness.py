"""Stale records: jobs whose mirror status lags what their field events say it should be."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from fieldrelay.domain import events as ev
from fieldrelay.domain.lifecycle import JobStatus, job_status_for, supersedes


@dataclass(frozen=True)
class StaleJob:
    """A job whose mirror status differs from the newest field event about it."""

    source: str
    external_id: str
    expected: str
    expected_at: datetime
    mirrored: str | None


def expected_job_states(events: Iterable[ev.FieldEvent]) -> dict[tuple[str, str], tuple[JobStatus, datetime]]:
    """Fold job events with the same rule the handlers use: newest event wins, later stage on a tie."""
    states: dict[tuple[str, str], tuple[JobStatus, datetime]] = {}
    for event in events:
        if not isinstance(event, ev.JobEvent):
            continue
        key = (event.source, event.job.external_id)
        status = job_status_for(event)
        current = states.get(key)
        if current is None or supersedes(event.occurred_at, status, current[1], current[0]):
            states[key] = (status, event.occurred_at)
    return states


def stale_jobs(
    expected: Mapping[tuple[str, str], tuple[JobStatus, datetime]], mirrored: Mapping[tuple[str, str], str]
) -> list[StaleJob]:
    """Jobs whose mirror status (or absence) disagrees with the expected state."""
    return [
        StaleJob(source, ext, status.value, at, mirrored.get((source, ext)))
        for (source, ext), (status, at) in sorted(expected.items())
        if mirrored.get((source, ext)) != status.value
    ]
