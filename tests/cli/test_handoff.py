"""``fieldrelay team``, ``lead``, ``review today`` and ``assign`` from a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.handoff.tables import team_members
from tests.cli.support import OPERATOR, signed
from tests.service.access.support import audit_entries
from tests.service.handoff.support import (
    HANDOFF_YAML,
    deal,
    estimate_at,
    handoff_settings,
    lead_at,
    shop_time,
    sop_tasks,
)
from tests.service.support import rows

cli = CliRunner()


@pytest.fixture
def settings() -> Settings:
    """The handoff test shop."""
    return handoff_settings()


def base(db_url: str, tmp_path: Path) -> list[str]:
    """--db and --config of the test shop."""
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(HANDOFF_YAML, encoding="utf-8")
    return ["--db", db_url, "--config", str(config)]


def test_team_add_and_list(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    opts = base(db_url, tmp_path)
    assert cli.invoke(app, ["team", "add", "Olga", "--role", "operations", *opts]).exit_code == 0
    added = cli.invoke(app, ["team", "add", "Rosa", "--role", "sales", "--reports-to", "Olga", *opts])
    assert added.exit_code == 0 and "Added Rosa (sales)" in added.output
    bad_role = cli.invoke(app, ["team", "add", "Al", "--role", "boss", *opts])
    assert bad_role.exit_code == 1 and "unknown role 'boss'" in bad_role.output
    no_lead = cli.invoke(app, ["team", "add", "Al", "--role", "sales", "--reports-to", "Zed", *opts])
    assert no_lead.exit_code == 1 and "'Zed' is not on the team" in no_lead.output
    assert {(m.name, m.reports_to) for m in rows(runtime, team_members)} == {("Olga", None), ("Rosa", "Olga")}
    # Only what was done is in the audit log: the refusal rolled its entry back with it.
    members = [(who, subject) for who, _, _, subject in signed(runtime, "manage_users")]
    assert members == [(OPERATOR, "Olga"), (OPERATOR, "Rosa")]
    listed = cli.invoke(app, ["team", "list", *opts])
    assert listed.exit_code == 0 and "Rosa" in listed.output and "Olga" in listed.output


def test_qualify_outcome_log_review_and_assign(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    opts = base(db_url, tmp_path)
    deal_id = lead_at(runtime, shop_time(2, 10))

    refused = cli.invoke(
        app, ["lead", "qualify", deal_id, "--zip", "90210", "--job-type", "Water heater", "--when", "Tue AM", *opts]
    )
    assert refused.exit_code == 1 and "outside the service area" in refused.output
    ok = cli.invoke(
        app, ["lead", "qualify", deal_id, "--zip", "78701", "--job-type", "Water heater", "--when", "Tue AM", *opts]
    )
    assert ok.exit_code == 0, ok.output
    assert deal(runtime, deal_id).stage == "qualified"
    assert signed(runtime, "qualify") == [(OPERATOR, "owner", "cli", deal_id)]  # not the refused try
    (entry,) = audit_entries(runtime, "qualify")
    assert (entry.before["stage"], entry.after["stage"], entry.after["zip"]) == ("new_lead", "qualified", "78701")

    no_date = cli.invoke(app, ["lead", "outcome", deal_id, "no_decision", *opts])
    assert no_date.exit_code == 1 and "needs a follow-up date" in no_date.output
    sent = cli.invoke(app, ["lead", "outcome", deal_id, "estimate_sent", *opts])
    assert sent.exit_code == 0, sent.output
    assert signed(runtime, "record_outcome") == [(OPERATOR, "owner", "cli", deal_id)]

    both = cli.invoke(app, ["lead", "log", deal_id, "--call", "--text", "--note", "hi", *opts])
    assert both.exit_code == 1
    logged = cli.invoke(
        app, ["lead", "log", deal_id, "--call", "--note", "Wants a second option", "--by", "Sam", *opts]
    )
    assert logged.exit_code == 0, logged.output
    assert [t.kind for t in sop_tasks(runtime, deal_id, "done")] == ["sop.first_response", "sop.followup.1"]
    assert signed(runtime, "log_call") == [("Sam", "owner", "cli", deal_id)]  # --by, a name without a sign-in

    review = cli.invoke(app, ["review", "today", *opts])
    assert review.exit_code == 0 and "Pat Doe" in review.output and "Sam" in review.output

    cli.invoke(app, ["team", "add", "Rosa", "--role", "sales", *opts])
    unknown = cli.invoke(app, ["assign", deal_id, "--to", "Zed", *opts])
    assert unknown.exit_code == 1 and "'Zed' is not on the team" in unknown.output
    moved = cli.invoke(app, ["assign", deal_id, "--to", "Rosa", *opts])
    assert moved.exit_code == 0 and "2 open tasks moved" in moved.output
    assert {t.assignee for t in sop_tasks(runtime, deal_id, "open")} == {"Rosa"}
    (entry,) = audit_entries(runtime, "reassign")
    assert (entry.actor, entry.before["owner"], entry.after["owner"]) == (OPERATOR, "Sam", "Rosa")


def test_review_today_with_nothing_open(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    opts = base(db_url, tmp_path)
    empty = cli.invoke(app, ["review", "today", *opts])
    assert empty.exit_code == 0 and "No open estimates" in empty.output
    estimate_at(runtime, shop_time(2, 11))
    # The command reads the wall clock, which is past the simulated Monday's 17:00 follow-up.
    listed = cli.invoke(app, ["review", "today", *opts]).output
    assert "Pat Doe" in listed and "OVERDUE" in listed


def test_the_report_carries_the_handoff_numbers(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    lead_at(runtime, shop_time(2, 10))
    shown = cli.invoke(app, ["report", *base(db_url, tmp_path)])
    assert shown.exit_code == 0, shown.output
    assert "Lead handoff (last 7 days)" in shown.output and "speed to first response, median" in shown.output


def test_lead_list_shows_every_open_deal_with_its_owner(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    opts = base(db_url, tmp_path)
    assert "No open deals" in cli.invoke(app, ["lead", "list", *opts]).output
    deal_id = lead_at(runtime, shop_time(2, 10))
    listed = cli.invoke(app, ["lead", "list", *opts])
    assert listed.exit_code == 0 and deal_id in listed.output and "Carla" in listed.output
