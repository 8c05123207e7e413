"""One way to name a record: a customer, deal, task, referral or error by id prefix, phone (any format), email or
name, in every command that takes one; none or several found is exit 2 with what to give instead."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import update
from typer.testing import CliRunner

from fieldrelay.cli import lookup
from fieldrelay.cli.main import app
from fieldrelay.domain import events as ev
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import outbox
from tests.service.handoff.support import HANDOFF_YAML, customer, deal, handoff_settings, lead_at, shop_time
from tests.service.support import HCP, apply, job_event, only_customer, pat
from tests.storage.error_rows import add_dead_outbox, add_inbox_error

cli = CliRunner()
PAT_FORMS = ("(512) 555-0142", "512.555.0142", "+1 512 555 0142", "5125550142", "PAT.DOE@example.com", "pat doe")


@pytest.fixture
def settings() -> Settings:
    """The handoff test shop (a service area, a team), so leads can be qualified and assigned."""
    return handoff_settings()


@pytest.fixture
def opts(db_url: str, tmp_path: Path) -> list[str]:
    """--db and --config of the test shop."""
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(HANDOFF_YAML, encoding="utf-8")
    return ["--db", db_url, "--config", str(config)]


def patricia() -> ev.CustomerSnapshot:
    """A second Pat, so a first name alone names two people."""
    return ev.CustomerSnapshot(
        external_id="cus_2", first_name="Patricia", last_name="Lindqvist", phones=("737-555-0199",)
    )


def two_pats(runtime: Runtime) -> str:
    """Pat Doe (booked) and Patricia Lindqvist; Pat's id."""
    apply(runtime, job_event(ev.JobBooked, shop_time(2, 8), customer=pat()))
    pat_id = str(only_customer(runtime).id)
    apply(runtime, job_event(ev.JobBooked, shop_time(2, 8, 5), job_id="job_2", customer=patricia()))
    return pat_id


def test_a_customer_by_any_phone_format_email_name_or_id_prefix(runtime: Runtime, opts: list[str]) -> None:
    pat_id = two_pats(runtime)
    for ref in (*PAT_FORMS, pat_id, pat_id[:8], pat_id[:8].upper()):
        assert lookup.customer(runtime, ref) == pat_id, ref
        shown = cli.invoke(app, ["customers", "show", ref, *opts])
        assert shown.exit_code == 0, shown.output
        assert f"Pat Doe · {pat_id}" in shown.output and "+15125550142 · may be contacted" in shown.output
    profile = cli.invoke(app, ["customers", "show", "pat doe", *opts]).output
    assert "pat.doe@example.com" in profile and "Jobs" in profile and "scheduled" in profile


def test_a_name_that_fits_two_lists_both_and_exits_2(runtime: Runtime, opts: list[str]) -> None:
    pat_id = two_pats(runtime)
    found = cli.invoke(app, ["customers", "find", "pat", *opts])
    assert found.exit_code == 0 and "Pat Doe" in found.output and "Patricia Lindqvist" in found.output
    shown = cli.invoke(app, ["customers", "show", "pat", *opts])
    assert shown.exit_code == 2 and "Traceback" not in shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "'pat' matches 2 customers; give a longer id, a phone or an email:"
    assert any(line.startswith(f"  {pat_id[:8]}  Pat Doe · +15125550142") for line in lines[1:])
    nobody = cli.invoke(app, ["customers", "show", "Zed", *opts])
    assert nobody.exit_code == 2
    assert (
        nobody.output
        == "No customer matches 'Zed' (give an id or its first characters, a phone, an email or a name).\n"
    )


def test_every_command_taking_a_customer_takes_a_phone_or_name(runtime: Runtime, opts: list[str]) -> None:
    two_pats(runtime)
    rendered = cli.invoke(app, ["templates", "render", "review_email", "--customer", "512 555 0142", *opts])
    assert rendered.exit_code == 0 and "Hi Pat," in rendered.output, rendered.output
    status = cli.invoke(app, ["sequences", "status", "--customer", "pat.doe@example.com", *opts])
    assert status.exit_code == 0 and "No enrolments match." in status.output
    merges = cli.invoke(app, ["customers", "merges", "Patricia", *opts])
    assert merges.exit_code == 0 and "No merges." in merges.output
    enrolled = cli.invoke(app, ["referrals", "enrol", "Patricia Lindqvist", "--by", "dana", *opts])
    assert enrolled.exit_code == 0 and "Enrolled: code" in enrolled.output, enrolled.output
    ambiguous = cli.invoke(app, ["referrals", "enrol", "pat", *opts])
    assert ambiguous.exit_code == 2 and "matches 2 customers" in ambiguous.output


def test_a_deal_by_short_id_or_by_its_customer(runtime: Runtime, opts: list[str]) -> None:
    deal_id = lead_at(runtime, shop_time(2, 10))
    qualify = ["--zip", "78701", "--job-type", "Water heater", "--when", "Tue AM"]
    qualified = cli.invoke(app, ["lead", "qualify", deal_id[:8], *qualify, *opts])
    assert qualified.exit_code == 0 and f"Deal {deal_id} qualified." in qualified.output, qualified.output
    assert deal(runtime, deal_id).stage == "qualified"
    assert cli.invoke(app, ["team", "add", "Rosa", "--role", "sales", *opts]).exit_code == 0
    moved = cli.invoke(app, ["assign", "(512) 555-0142", "--to", "Rosa", *opts])
    assert moved.exit_code == 0 and f"Deal {deal_id} is now Rosa's" in moved.output, moved.output
    logged = cli.invoke(app, ["lead", "log", "Pat Doe", "--call", "--note", "Left a message", *opts])
    assert logged.exit_code == 0, logged.output
    unknown = cli.invoke(app, ["lead", "qualify", "df049700", *qualify, *opts])
    assert unknown.exit_code == 2 and unknown.output.startswith("No deal matches 'df049700'")


def test_a_customer_without_an_open_deal_says_so(runtime: Runtime, opts: list[str]) -> None:
    lead_at(runtime, shop_time(2, 10))
    apply(runtime, ev.CustomerCreated(source=HCP, occurred_at=shop_time(2, 11), customer=customer("amy")))
    result = cli.invoke(app, ["lead", "outcome", "Amy Lee", "estimate_sent", *opts])
    assert result.exit_code == 2 and result.output == "No open deal for Amy Lee.\n", result.output


def test_a_task_by_its_customer_or_short_id(runtime: Runtime) -> None:
    lead_at(runtime, shop_time(2, 10))  # opens the first-response task
    task_id = lookup.task(runtime, "Pat Doe")
    assert lookup.task(runtime, task_id[:6]) == task_id
    with pytest.raises(typer.Exit) as exited:
        lookup.task(runtime, "Zed")
    assert exited.value.exit_code == 2


def test_an_error_by_id_number_or_customer(runtime: Runtime, opts: list[str]) -> None:
    pat_id = two_pats(runtime)
    outbox_id, _ = add_dead_outbox(runtime.engine, runtime.clock.now() - timedelta(hours=1))
    inbox_id = add_inbox_error(runtime.engine, runtime.clock.now())
    with runtime.engine.begin() as conn:
        row = int(outbox_id.removeprefix("outbox-"))
        conn.execute(update(outbox).where(outbox.c.id == row).values(customer_id=pat_id))
    by_customer = cli.invoke(app, ["errors", "show", "512-555-0142", *opts])
    assert by_customer.exit_code == 0 and outbox_id in by_customer.output, by_customer.output
    by_number = cli.invoke(app, ["errors", "show", inbox_id.removeprefix("inbox-"), *opts])
    if inbox_id.removeprefix("inbox-") == outbox_id.removeprefix("outbox-"):  # the same number in two kinds
        assert by_number.exit_code == 2 and inbox_id in by_number.output and outbox_id in by_number.output
    else:
        assert by_number.exit_code == 0 and inbox_id in by_number.output
    retried = cli.invoke(app, ["errors", "retry", "Pat Doe", *opts])
    assert retried.exit_code == 0 and f"{outbox_id} put back in line" in retried.output
    none = cli.invoke(app, ["errors", "dismiss", "Patricia", *opts])
    assert none.exit_code == 2 and none.output.startswith("No open error matches 'Patricia'")
