"""``fieldrelay customers``: review the queue from a terminal, list merges, undo one; each in the audit log, and
a CSR may not merge."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from fieldrelay.storage.tables import merge_candidates, merges
from tests.cli.support import OPERATOR, signed
from tests.conftest import TEST_YAML
from tests.service.access.support import add_person
from tests.service.support import PAT_E164, apply, at, job_event, live_customers, pat, rows


def test_review_merge_list_and_unmerge_from_the_terminal(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    unsure = ev.CustomerSnapshot(external_id="sub_1", last_name="Doe", phones=(PAT_E164,))
    apply(runtime, ev.LeadReceived(source="forms", occurred_at=at(-5), customer=unsure, lead_ref="sub_1"))
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TEST_YAML, encoding="utf-8")
    base = ["--db", db_url, "--config", str(config)]
    cli = CliRunner()

    listed = cli.invoke(app, ["customers", "review", "--list", *base])
    assert listed.exit_code == 0, listed.output
    assert "1 possible duplicate to review" in listed.output and "phone shared" in listed.output
    assert rows(runtime, merge_candidates)[0].status == "open", "--list decides nothing"

    reviewed = cli.invoke(app, ["customers", "review", "--by", "dana", *base], input="m\n")
    assert reviewed.exit_code == 0, reviewed.output
    (merge,) = rows(runtime, merges)
    assert f"fieldrelay customers unmerge {merge.id}" in reviewed.output
    assert merge.decided_by == "person:dana" and live_customers(runtime) == 1
    pair = str(rows(runtime, merge_candidates)[0].id)
    assert signed(runtime, "merge") == [("dana", "owner", "cli", pair)]

    history = cli.invoke(app, ["customers", "merges", *base])
    assert history.exit_code == 0 and "person:dana" in history.output

    undone = cli.invoke(app, ["customers", "unmerge", str(merge.id), "--by", "dana", *base])
    assert undone.exit_code == 0, undone.output
    assert live_customers(runtime) == 2
    assert signed(runtime, "undo_merge") == [("dana", "owner", "cli", str(merge.id))]
    again = cli.invoke(app, ["customers", "unmerge", str(merge.id), *base])
    assert again.exit_code == 1 and "already undone" in again.output

    apart = cli.invoke(app, ["customers", "review", *base], input="d\n")
    assert apart.exit_code == 0
    assert rows(runtime, merge_candidates)[0].status == "distinct"
    assert signed(runtime, "keep_apart") == [(OPERATOR, "owner", "cli", pair)]

    # Each decision is a labelled pair for calibration: the merge "same", its undo and the keep-apart "different".
    exported = cli.invoke(app, ["customers", "pairs", "--csv", *base])
    assert exported.exit_code == 0, exported.output
    labelled = list(csv.DictReader(io.StringIO(exported.output)))
    assert [(p["kind"], p["label"], p["decided_by"]) for p in labelled] == [
        ("person_merge", "same", "person:dana"),
        ("undo", "different", "dana"),
        ("keep_apart", "different", OPERATOR),
    ]
    assert {frozenset((p["customer_id"], p["other_id"])) for p in labelled} == {
        frozenset((merge.survivor_id, merge.merged_id))
    }
    assert "phone:shared" in labelled[0]["evidence"] and "Doe" not in exported.output  # outcomes, no personal data
    shown = cli.invoke(app, ["customers", "pairs", *base])
    assert shown.exit_code == 0 and "Labelled pairs (3" in shown.output


def test_a_csr_may_not_merge_and_the_owner_may(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600), customer=pat()))
    unsure = ev.CustomerSnapshot(external_id="sub_1", last_name="Doe", phones=(PAT_E164,))
    apply(runtime, ev.LeadReceived(source="forms", occurred_at=at(-5), customer=unsure, lead_ref="sub_1"))
    add_person(runtime, "Carla", "office")
    add_person(runtime, "Olga", "owner")
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TEST_YAML, encoding="utf-8")
    base = ["--db", db_url, "--config", str(config)]
    cli = CliRunner()

    refused = cli.invoke(app, ["customers", "review", "--as", "Carla", *base], input="m\n")
    assert (refused.exit_code, refused.output) == (1, "Carla (Office (CSR)) may not merge records\n")
    assert rows(runtime, merges) == [] and rows(runtime, merge_candidates)[0].status == "open"
    assert cli.invoke(app, ["customers", "review", "--list", "--as", "Carla", *base]).exit_code == 0  # she may look

    merged = cli.invoke(app, ["customers", "review", "--as", "olga", *base], input="m\n")
    assert merged.exit_code == 0, merged.output
    (merge,) = rows(runtime, merges)
    assert merge.decided_by == "person:Olga"
    assert signed(runtime, "merge") == [("Olga", "owner", "cli", str(rows(runtime, merge_candidates)[0].id))]
