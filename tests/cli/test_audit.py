"""``fieldrelay tasks done`` writes the audit log like the web and the API do, and ``fieldrelay audit`` reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.engine.clock import RealClock
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from tests.service.access.support import audit_entries
from tests.service.tasks.support import TASKS_YAML, first_response, tasks_settings


@pytest.fixture
def settings() -> Settings:
    """The task test shop."""
    return tasks_settings()


def test_a_task_closed_from_the_terminal_is_in_the_audit_log(
    runtime: Runtime, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TASKS_YAML, encoding="utf-8")
    base = ["--db", db_url, "--config", str(config)]
    situation = first_response(runtime)
    monkeypatch.setattr(RealClock, "now", lambda self: runtime.clock.now())

    done = CliRunner().invoke(
        app, ["tasks", "done", situation.task_id[:8], "--outcome", "reached", "--note", "Booked", "--by", "Al", *base]
    )

    assert done.exit_code == 0, done.output
    (entry,) = audit_entries(runtime, "complete_task")
    assert (entry.actor, entry.via, entry.subject_id, entry.after["outcome"]) == (
        "Al",
        "cli",
        situation.task_id,
        "reached",
    )
    shown = CliRunner().invoke(app, ["audit", "--who", "al", *base])
    assert shown.exit_code == 0 and "complete_task" in shown.output
