"""``fieldrelay tasks list`` and ``tasks done``: every kind of task listed with its owner and closed by its short id,
the filters (mine, overdue, kind, all), and the refusals (unknown, ambiguous, closed, a wrong outcome)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldrelay.cli.common import console
from fieldrelay.cli.main import app
from fieldrelay.engine.clock import RealClock
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.sequences.tables import tasks
from tests.service.handoff.support import lead_at, shop_time
from tests.service.support import rows, sim_clock
from tests.service.tasks.support import (
    SITUATIONS,
    TASKS_YAML,
    add_task,
    closed_as,
    customer_id,
    open_task,
    tasks_settings,
    two_customers,
)


@pytest.fixture
def settings() -> Settings:
    """The task test shop."""
    return tasks_settings()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tables as wide as they need to be, so a cell is never folded across lines."""
    monkeypatch.setattr(console, "_width", 400)
    yield


@pytest.fixture
def base(db_url: str, tmp_path: Path) -> list[str]:
    """The --db and --config options of every command."""
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TASKS_YAML, encoding="utf-8")
    return ["--db", db_url, "--config", str(config)]


def clock_at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """The command's wall clock reads ``moment`` (the situations happen on the tests' simulated week)."""
    monkeypatch.setattr(RealClock, "now", lambda self: moment)


def invoke(*args: str) -> tuple[int, str]:
    """Run the CLI; its exit code and output."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def line_of(output: str, short_id: str) -> str:
    """The table line that starts the row of this task."""
    (line,) = [line for line in output.splitlines() if short_id in line]
    return line


@pytest.mark.parametrize("name", sorted(SITUATIONS))
def test_each_kind_is_listed_with_its_owner_and_closed_by_its_short_id(
    runtime: Runtime, base: list[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    situation = SITUATIONS[name](runtime)
    clock_at(monkeypatch, sim_clock(runtime).now())
    short = situation.task_id[:8]

    code, output = invoke("tasks", "list", *base)
    assert code == 0, output
    line = line_of(output, short)
    assert situation.kind in line and situation.owner in line and "Pat Doe" not in line  # the name is on line two
    assert "Pat Doe" in output

    code, output = invoke(
        "tasks", "done", short, "--outcome", situation.outcome, "--note", "Spoke at length", "--by", "Al", *base
    )
    assert code == 0, output
    assert output.startswith(f"Closed {short} ({situation.kind}): {situation.outcome}")
    closed_as(runtime, situation, by="Al")
    situation.check(runtime, situation)

    assert short not in invoke("tasks", "list", *base)[1]
    assert f"done: {situation.outcome}" in line_of(invoke("tasks", "list", "--all", *base)[1], short)


def kinds_listed(output: str) -> list[str]:
    """The kinds in a task table, top to bottom."""
    return [word for line in output.splitlines() for word in line.split() if word.startswith("sop.")]


def test_the_filters_mine_overdue_and_kind(runtime: Runtime, base: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    two_customers(runtime)
    clock_at(monkeypatch, shop_time(3, 9))  # Tuesday: the same-day follow-up and Amy's first response are late

    everything = invoke("tasks", "list", *base)[1]
    assert kinds_listed(everything) == ["sop.first_response", "sop.followup.1", "sop.followup.2", "sop.followup.3"]
    assert "Tasks (4, 2 overdue)" in everything
    assert kinds_listed(invoke("tasks", "list", "--mine", "Sam", *base)[1]) == [
        "sop.followup.1",
        "sop.followup.2",
        "sop.followup.3",
    ]
    carla = invoke("tasks", "list", "--mine", "Carla", *base)[1]
    assert kinds_listed(carla) == ["sop.first_response"] and "Amy Lee" in carla and "→ Olga" in carla
    assert kinds_listed(invoke("tasks", "list", "--mine", "Olga", *base)[1]) == ["sop.first_response"]  # escalated
    assert invoke("tasks", "list", "--mine", "Dan", *base)[1].strip() == "No tasks match."

    overdue = invoke("tasks", "list", "--overdue", *base)[1]
    assert kinds_listed(overdue) == ["sop.first_response", "sop.followup.1"] and overdue.count("OVERDUE") == 2
    assert kinds_listed(invoke("tasks", "list", "--overdue", "--mine", "Sam", *base)[1]) == ["sop.followup.1"]

    assert len(kinds_listed(invoke("tasks", "list", "--kind", "sop.followup", *base)[1])) == 3
    assert kinds_listed(invoke("tasks", "list", "--kind", "sop.followup.2", *base)[1]) == ["sop.followup.2"]
    assert kinds_listed(invoke("tasks", "list", "--kind", "sop.first_response", "--all", *base)[1]) == [
        "sop.first_response",  # Pat's, closed when her estimate went out
        "sop.first_response",
    ]


def test_a_role_finds_the_tasks_nobody_on_the_team_holds(
    runtime: Runtime, base: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_at(runtime, shop_time(2, 10))
    task_id = "0a0b0c0d-0000-4000-8000-000000000000"
    # No technician on the team: nobody holds it.
    add_task(runtime, task_id, customer_id(runtime), "service_recovery.call", "technician", "test:unowned")
    clock_at(monkeypatch, shop_time(2, 10))

    assert "0a0b0c0d" in invoke("tasks", "list", "--mine", "technician", *base)[1]
    assert "0a0b0c0d" not in invoke("tasks", "list", "--mine", "Carla", *base)[1]


def test_unknown_ambiguous_closed_and_wrong_outcomes_are_refused_in_one_line(
    runtime: Runtime, base: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lead_at(runtime, shop_time(2, 10))
    task = open_task(runtime, "sop.first_response")
    for task_id in ("abcd1111-0000-4000-8000-000000000000", "abcd2222-0000-4000-8000-000000000000"):
        add_task(runtime, task_id, task.customer_id, "rebooking.call", "sales", f"test:{task_id}")
    clock_at(monkeypatch, shop_time(2, 10, 3))

    result = CliRunner().invoke(app, ["tasks", "done", "ffff9", "--outcome", "reached", "--note", "x", *base])
    assert result.exit_code == 2 and result.output.startswith("No task matches 'ffff9' (give an id")
    assert result.output.count("\n") == 1 and isinstance(result.exception, SystemExit)  # one line, no traceback
    code, output = invoke("tasks", "done", "abcd", "--outcome", "booked", "--note", "x", *base)
    assert code == 2 and "'abcd' matches 2 tasks" in output
    assert "  abcd1111  Call · Pat Doe" in output and "  abcd2222  Call · Pat Doe" in output
    code, output = invoke("tasks", "done", task.id[:8], "--outcome", "booked", "--note", "Booked", *base)
    assert code == 1 and "(one of: reached, left_message, no_answer)" in output
    assert invoke("tasks", "done", task.id[:8], "--outcome", "reached", "--note", "Booked", *base)[0] == 0
    code, output = invoke("tasks", "done", task.id[:8], "--outcome", "reached", "--note", "Again", *base)
    assert (code, output) == (1, f"task {task.id[:8]} is already done\n")
    assert [t.status for t in rows(runtime, tasks, tasks.c.id == task.id)] == ["done"]
