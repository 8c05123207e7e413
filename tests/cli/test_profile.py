"""``fieldrelay customers show``: contact details with consent, jobs, deals and the newest timeline entries."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.domain import events as ev
from fieldrelay.runtime import Runtime
from tests.conftest import TEST_YAML
from tests.service.support import PAT_E164, apply, at, in_store, job_event


def test_the_profile_shows_consent_jobs_deal_and_timeline(runtime: Runtime, db_url: str, tmp_path: Path) -> None:
    apply(runtime, job_event(ev.JobBooked, at(-600)), job_event(ev.JobCompleted, at(-300)))
    in_store(runtime, lambda store: store.set_consent("sms", PAT_E164, True, "STOP", "twilio", at(-60)))
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TEST_YAML, encoding="utf-8")

    result = CliRunner().invoke(app, ["customers", "show", "512-555-0142", "--db", db_url, "--config", str(config)])

    assert result.exit_code == 0, result.output
    out = result.output
    assert "+15125550142 · opted out 2026-11-02 (STOP)" in out and "pat.doe@example.com · may be contacted" in out
    assert "Jobs" in out and "completed" in out
    assert "Deals" in out and "scheduled" in out
    assert "Latest on the timeline" in out
