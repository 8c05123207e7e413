"""``fieldrelay sequences`` and ``fieldrelay templates``: the library, who is on which step, a dry run, a rendering."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Table
from typer.testing import CliRunner

from fieldrelay.cli.common import console
from fieldrelay.cli.main import app
from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.records import FieldWrite
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.sequences.tables import enrollments
from fieldrelay.storage.tables import activities, messages, outbox, timers
from tests.conftest import START, TEST_YAML
from tests.service.sequences.support import LIBRARY_YAML, at, enrolled_in, job, library_settings, run_until
from tests.service.sequences.test_caps import CAP_SEQUENCES
from tests.service.support import apply, count, only_customer, rows

KEPT: tuple[Table, ...] = (enrollments, timers, messages, outbox, activities)


@pytest.fixture
def settings() -> Settings:
    """The default sequence library."""
    return library_settings()


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tables as wide as they need to be, so a cell is never folded across lines."""
    monkeypatch.setattr(console, "_width", 400)
    yield


@pytest.fixture
def base(db_url: str, tmp_path: Path) -> list[str]:
    """The --db and --config options of every command."""
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(LIBRARY_YAML, encoding="utf-8")
    return ["--db", db_url, "--config", str(config)]


def invoke(*args: str) -> tuple[int, str]:
    """Run the CLI; its exit code and output."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_list_shows_the_library(runtime: Runtime, base: list[str]) -> None:
    code, output = invoke("sequences", "list", *base)
    assert code == 0, output
    assert "satisfaction_check" in output and "30m sms[satisfaction_ask]" in output
    assert "96h task[Call once about the maintenance plan offer] if no_response" in output
    assert "job.completed (from the renewal date)" in output and "left_review, opted_out" in output


def test_status_shows_who_is_on_which_step_and_why_they_left(runtime: Runtime, base: list[str]) -> None:
    apply(runtime, job(ev.JobCompleted, START))
    run_until(runtime, at(0.1))

    code, output = invoke("sequences", "status", "--sequence", "satisfaction_check", *base)
    assert code == 0, output
    (line,) = [row for row in output.splitlines() if "satisfaction_check" in row]
    assert "Pat Doe" in line and "active" in line and "ask" in line and "Mon 2026-11-02 09:30 CST" in line
    assert "seasonal_offer" not in output

    run_until(runtime, at(0.5))
    code, output = invoke(
        "sequences", "status", "--status", "completed", "--customer", only_customer(runtime).id, *base
    )
    assert code == 0, output
    (line,) = [row for row in output.splitlines() if "satisfaction_check" in row]
    assert "completed" in line and "ask" in line and "Mon 2026-11-02 09:30 CST" in line

    code, output = invoke("sequences", "status", "--status", "exited", *base)
    assert (code, output.strip()) == (0, "No enrolments match.")
    code, output = invoke("sequences", "status", "--status", "paused", *base)
    assert code == 2


def test_status_shows_a_held_step_with_its_reason_and_new_time(runtime: Runtime, tmp_path: Path, db_url: str) -> None:
    text = CAP_SEQUENCES + "messaging:\n  marketing_per_week: 3\n  discretionary_spacing_hours: 24\n"
    runtime.settings = parse_settings(TEST_YAML.replace("sequences: {}\n", "") + text, "test.yaml")
    config = tmp_path / "caps.yaml"
    config.write_text(TEST_YAML.replace("sequences: {}\n", "") + text, encoding="utf-8")
    apply(runtime, job(ev.PaymentCaptured, START))
    run_until(runtime, at(0.5))  # the review request
    run_until(runtime, at(1))  # the invite waits a day after it

    code, output = invoke("sequences", "status", "--sequence", "invite", "--db", db_url, "--config", str(config))

    assert code == 0, output
    (line,) = [row for row in output.splitlines() if "invite" in row]
    assert "text" in line and "Tue 2026-11-03 09:30 CST" in line
    assert "a marketing message went out less than 24 hours ago" in line


def test_preview_replays_the_window_and_keeps_nothing(runtime: Runtime, base: list[str]) -> None:
    apply(runtime, job(ev.JobCompleted, START, job_id="job_1"))
    apply(runtime, job(ev.PaymentCaptured, START, job_id="job_2", service="Water heater install"))
    real = sorted(enrolled_in(runtime))
    before = {table.name: count(runtime, table) for table in KEPT}

    code, output = invoke("sequences", "preview", "--since", "48h", "--at", at(0.1).isoformat(), *base)

    assert code == 0, output
    assert "2 triggers replayed" in output and "entry_refused" not in output
    lines = output.splitlines()
    (ask,) = [row for row in lines if "satisfaction_check" in row]
    assert all(word in ask for word in ("Pat Doe", "ask", "Mon 2026-11-02 09:30 CST", "sms", "satisfaction_ask"))
    (email,) = [row for row in lines if "review_follow_up" in row and " email " in row]
    assert "Wed 2026-11-04 09:00 CST" in email and "review_email" in email
    (nudge,) = [row for row in lines if "last_nudge" in row]
    assert "Mon 2026-11-09 09:00 CST" in nudge and "review_nudge" in nudge
    (season,) = [row for row in lines if "seasonal_offer" in row and "offer" in row and "skipped" in row]
    assert "in the service's season" in season
    assert any("renewal_reminders" in row and "the service does not match" in row for row in lines)

    assert {table.name: count(runtime, table) for table in KEPT} == before
    assert sorted(enrolled_in(runtime)) == real
    assert not [row for row in rows(runtime, enrollments) if row.subject_key.startswith("preview:")]


def test_preview_of_a_quiet_window(runtime: Runtime, base: list[str]) -> None:
    apply(runtime, job(ev.JobCompleted, START))
    code, output = invoke("sequences", "preview", "--since", "1h", "--at", at(48).isoformat(), *base)
    assert code == 0, output
    assert "0 triggers replayed" in output and "No sequence would start." in output
    code, output = invoke("sequences", "preview", "--at", at(-0.1).isoformat(), *base)
    assert code == 0 and "0 triggers replayed" in output, "what happened after --at is not replayed"
    code, output = invoke("sequences", "preview", "--since", "soon", *base)
    assert code == 2 and "30m, 48h or 5d" in output


def test_templates_render_for_a_customer(runtime: Runtime, base: list[str]) -> None:
    apply(runtime, job(ev.JobCompleted, START))
    customer = only_customer(runtime).id

    code, output = invoke("templates", "render", "satisfaction_ask", "--customer", customer, *base)
    assert code == 0, output
    assert output.startswith("Hi Pat, thanks for choosing Rapid Rooter Plumbing. How did we do today?")

    code, output = invoke("templates", "render", "review_email", "--customer", customer, *base)
    assert code == 0, output
    assert output.startswith("Subject: How did we do, Pat?") and "for your Drain cleaning" in output

    code, output = invoke("templates", "list", *base)
    assert code == 0 and "satisfaction_check.ask" in output


def test_templates_render_fills_the_renewal_date_from_the_crm_field(runtime: Runtime, base: list[str]) -> None:
    apply(runtime, job(ev.PaymentCaptured, START))
    customer = only_customer(runtime).id
    code, output = invoke("templates", "render", "renewal_text", "--customer", customer, *base)
    assert code == 0 and "is due soon. Book:" in output, output

    # The playbook's renewal_scheduling writes renewal_due_on a year after a payment.
    with runtime.engine.begin() as conn:
        store = SqlMirror(conn, runtime.settings.account_id, START)
        store.write_fields(customer, {"renewal_due_on": FieldWrite("2027-11-02", "rule:renewal_scheduling", START)})
    code, output = invoke("templates", "render", "renewal_text", "--customer", customer, *base)
    assert code == 0 and "is due November 2. Book:" in output, output


def test_templates_render_refuses_an_unknown_template_or_customer(runtime: Runtime, base: list[str]) -> None:
    apply(runtime, job(ev.JobCompleted, START))
    customer = only_customer(runtime).id

    code, output = invoke("templates", "render", "nope", "--customer", customer, *base)
    assert code == 2 and "no template named 'nope'" in output

    code, output = invoke("templates", "render", "satisfaction_ask", "--customer", "nobody", *base)
    assert code == 2 and "No customer matches 'nobody'" in output
