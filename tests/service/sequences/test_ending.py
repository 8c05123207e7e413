"""A person ends a customer's enrolment by hand: its steps stop, its open task is cancelled, the timeline says who."""

from __future__ import annotations

import pytest

from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.sequences import ending
from fieldrelay.service.sequences.ending import EnrollmentNotActive
from fieldrelay.storage.tables import timers
from tests.service.handoff.support import act
from tests.service.sequences.support import enrollment
from tests.service.support import rows, timeline
from tests.service.tasks.support import customer_id, service_recovery, task_row, tasks_settings


@pytest.fixture
def settings() -> Settings:
    """The task test shop, with the sequence library."""
    return tasks_settings()


def test_a_person_ends_an_enrolment_and_its_open_task_is_cancelled(runtime: Runtime) -> None:
    situation = service_recovery(runtime)
    row = enrollment(runtime, "service_recovery")

    act(runtime, lambda ctx: ending.end(ctx, row.id, "Carla", " asked us   to stop "))

    ended = enrollment(runtime, "service_recovery")
    assert (ended.status, ended.exit_reason) == ("exited", "ended by Carla: asked us to stop")
    assert task_row(runtime, situation.task_id).status == "cancelled"
    pending = timers.c.key.startswith(f"seq:{row.id}:"), timers.c.status == "pending"
    assert rows(runtime, timers, *pending) == []
    (note,) = timeline(runtime, customer_id(runtime), "sequence.exited")
    assert note.summary == "Left service recovery: ended by Carla: asked us to stop"
    with pytest.raises(EnrollmentNotActive, match="already exited"):
        act(runtime, lambda ctx: ending.end(ctx, row.id, "Carla"))
    with pytest.raises(LookupError):
        act(runtime, lambda ctx: ending.end(ctx, "nope", "Carla"))
