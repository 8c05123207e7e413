"""Agreement: the canonical job and estimate events (domain/events.py), the statuses they set (domain/lifecycle.py)
and the event names a field-mapping row, a pipeline move or a sequence trigger is keyed by (rules/mapping.py).

Handlers name what happened ``job.<status>`` / ``estimate.<status>``: an event class without a status fails in the
worker, a status no event sets is dead, and a mapped event name no status produces is a row that never fires.
"""

from __future__ import annotations

import inspect
from typing import TypeVar

import pytest

from fieldrelay.domain import events as ev
from fieldrelay.domain.lifecycle import EstimateStatus, JobStatus, estimate_status_for, job_rank, job_status_for
from fieldrelay.rules.mapping import ESTIMATE_EVENTS, JOB_EVENTS
from tests.conftest import START

E = TypeVar("E", bound=ev.FieldEvent)


def leaves(base: type[E]) -> list[type[E]]:
    """The event classes of domain/events.py that extend ``base`` and that no other class extends."""
    classes = [c for _, c in inspect.getmembers(ev, inspect.isclass) if issubclass(c, base) and c is not base]
    return [c for c in classes if not any(o is not c and issubclass(o, c) for o in classes)]


def test_every_job_event_sets_a_status_and_every_status_has_an_event() -> None:
    found: dict[JobStatus, list[str]] = {}
    missing = []
    for cls in leaves(ev.JobEvent):
        try:
            status = job_status_for(cls(source="x", occurred_at=START, customer=None))
        except KeyError:
            missing.append(cls.__name__)
            continue
        found.setdefault(status, []).append(cls.__name__)
    assert not missing, f"domain/events.py job events with no status in domain/lifecycle.py _EVENT_STATUS: {missing}"
    unset = sorted(set(JobStatus) - set(found))
    assert not unset, f"domain/lifecycle.py JobStatus values no job event sets: {unset}"


def test_every_estimate_event_sets_a_status_and_every_status_has_an_event() -> None:
    found: set[EstimateStatus] = set()
    missing = []
    for cls in leaves(ev.EstimateEvent):
        try:
            found.add(estimate_status_for(cls(source="x", occurred_at=START, customer=None)))
        except KeyError:
            missing.append(cls.__name__)
    assert not missing, f"domain/events.py estimate events with no status in _ESTIMATE_STATUS: {missing}"
    unset = sorted(set(EstimateStatus) - found)
    assert not unset, f"domain/lifecycle.py EstimateStatus values no estimate event sets: {unset}"


@pytest.mark.parametrize("status", list(JobStatus))
def test_every_job_status_has_a_rank(status: JobStatus) -> None:
    try:
        job_rank(status)
    except KeyError:
        pytest.fail(f"JobStatus.{status.name} has no rank in domain/lifecycle.py _JOB_RANK (ties cannot be broken)")


def test_the_mapped_job_and_estimate_events_are_the_statuses_handlers_name() -> None:
    named = {f"job.{s.value}" for s in JobStatus} | {f"estimate.{s.value}" for s in EstimateStatus}
    mapped = set(JOB_EVENTS) | set(ESTIMATE_EVENTS)
    problems = [
        f"rules/mapping.py maps {e!r}, which no job or estimate status produces" for e in sorted(mapped - named)
    ]
    problems += [f"handlers name {e!r} (a status), which rules/mapping.py cannot map" for e in sorted(named - mapped)]
    assert not problems, "\n".join(problems)
