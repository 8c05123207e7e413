"""Starting a worker or the service with a message provider that cannot start: a clear error and exit 2."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from fieldrelay.cli.main import app

TWILIO_YAML = 'business:\n  name: X\nmessaging:\n  sms_provider: twilio\n  twilio:\n    from_number: "+15005550006"\n'


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """worker and serve configure logging onto the CliRunner's stderr, which is closed after the call: put the
    configuration back, or every later test that logs would write to a closed file."""
    structlog_config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        structlog.configure(**structlog_config)
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_twilio_without_its_credentials_refuses_to_start_and_says_which(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIELDRELAY_TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("FIELDRELAY_TWILIO_SECRET", raising=False)
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(TWILIO_YAML, encoding="utf-8")

    result = CliRunner().invoke(app, [command, "--config", str(config), "--db", f"sqlite:///{tmp_path / 'f.db'}"])

    assert result.exit_code == 2, result.output
    assert result.output.startswith("cannot start: sms_provider twilio needs FIELDRELAY_TWILIO_ACCOUNT_SID")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("target", "extra", "says"),
    [
        ("hubspot", "", "crm target hubspot needs FIELDRELAY_HUBSPOT_TOKEN"),
        ("webhook", "  webhook: {url: 'https://hooks.example.test/in'}\n", "crm target webhook needs"),
        ("salesforce", "  salesforce: {instance_url: 'https://acme.my.salesforce.com'}\n", "FIELDRELAY_SALESFORCE"),
    ],
)
def test_a_crm_target_without_its_secret_refuses_to_start_and_says_which(
    target: str, extra: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HUBSPOT_TOKEN", "WEBHOOK_OUT_SECRET", "SALESFORCE_TOKEN", "SALESFORCE_CLIENT_ID"):
        monkeypatch.delenv(f"FIELDRELAY_{name}", raising=False)
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(f"business:\n  name: X\ncrm:\n  targets: [{target}]\n{extra}", encoding="utf-8")

    result = CliRunner().invoke(app, ["worker", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'f.db'}"])

    assert result.exit_code == 2, result.output
    assert result.output.startswith("cannot start: ") and says in result.output
    assert "Traceback" not in result.output
