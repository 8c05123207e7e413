"""``fieldrelay errors``: list with filters, show one error and its attempts, dismiss it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import messages, outbox
from tests.cli.support import OPERATOR, signed
from tests.conftest import TEST_YAML
from tests.storage.error_rows import add_dead_outbox, add_dead_timer, add_inbox_error


def test_list_show_and_dismiss_from_the_terminal(
    runtime: Runtime, clock: SimulatedClock, db_url: str, tmp_path: Path
) -> None:
    outbox_id, message_id = add_dead_outbox(runtime.engine, clock.now() - timedelta(hours=3))
    inbox_id = add_inbox_error(runtime.engine, clock.now(), connector="jobber")
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TEST_YAML, encoding="utf-8")
    base = ["--db", db_url, "--config", str(config)]
    cli = CliRunner()

    listed = cli.invoke(app, ["errors", "list", "--source", "jobber", *base])
    assert listed.exit_code == 0, listed.output
    assert inbox_id in listed.output and outbox_id not in listed.output
    bad_age = cli.invoke(app, ["errors", "list", "--older-than", "soon", *base])
    assert bad_age.exit_code == 2 and "--older-than" in bad_age.output

    shown = cli.invoke(app, ["errors", "show", outbox_id, *base])
    assert shown.exit_code == 0, shown.output
    assert "not a mobile number" in shown.output and "Delivery attempts" in shown.output
    assert "try 1" in shown.output and "400" in shown.output

    dismissed = cli.invoke(app, ["errors", "dismiss", outbox_id, "--by", "dana", "--reason", "landline", *base])
    assert dismissed.exit_code == 0, dismissed.output
    with runtime.engine.connect() as conn:
        row = conn.execute(select(outbox.c.status, outbox.c.last_error)).one()
        message_status = conn.execute(select(messages.c.status).where(messages.c.id == message_id)).scalar_one()
    assert (row.status, row.last_error) == ("dismissed", "not a mobile number — dismissed by dana: landline")
    assert message_status == "cancelled"
    assert signed(runtime, "dismiss_error") == [("dana", "owner", "cli", outbox_id)]

    again = cli.invoke(app, ["errors", "dismiss", outbox_id, *base])
    assert again.exit_code == 2 and "No open error" in again.output
    gone = cli.invoke(app, ["errors", "show", outbox_id, *base])
    assert gone.exit_code == 2 and "No open error" in gone.output


def test_retry_one_and_all_are_in_the_audit_log(
    runtime: Runtime, clock: SimulatedClock, db_url: str, tmp_path: Path
) -> None:
    inbox_id = add_inbox_error(runtime.engine, clock.now())
    timer_id = add_dead_timer(runtime.engine, clock.now())
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TEST_YAML, encoding="utf-8")
    base = ["--db", db_url, "--config", str(config)]
    cli = CliRunner()

    one = cli.invoke(app, ["errors", "retry", inbox_id, *base])
    assert one.exit_code == 0, one.output
    every = cli.invoke(app, ["errors", "retry", "--all", *base])  # the inbox row is pending now: only the timer
    assert every.exit_code == 0 and "1 put back in line" in every.output

    assert signed(runtime, "retry_error") == [
        (OPERATOR, "owner", "cli", inbox_id),
        (OPERATOR, "owner", "cli", timer_id),
    ]
