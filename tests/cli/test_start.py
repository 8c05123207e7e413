"""Starting a worker or the service: a provider that cannot start, the demo shop without --demo, or a database that
cannot be used is a clear error and exit 2; what starts logs each secret as set or missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.rules.loader import DEFAULT_YAML

TWILIO_YAML = 'business:\n  name: X\nmessaging:\n  sms_provider: twilio\n  twilio:\n    from_number: "+15005550006"\n'


pytestmark = pytest.mark.usefixtures("logging_restored")


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


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_the_demo_shop_is_refused_without_demo(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no fieldrelay.yaml here: the packaged demo shop would be used
    db = tmp_path / "f.db"
    result = CliRunner().invoke(app, [command, "--db", f"sqlite:///{db}"])
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"there is no fieldrelay.yaml in {tmp_path}, so the packaged configuration is the demo shop "
        "'Rapid Rooter Plumbing' (demo: true): write your own with `fieldrelay init` (or point at it with --config "
        "PATH), or pass --demo to run the demo shop\n"
    )
    assert not db.exists(), "refused before the database is touched"
    copied = tmp_path / "shop.yaml"
    copied.write_text(DEFAULT_YAML.read_text(encoding="utf-8"), encoding="utf-8")  # a copy of it is the demo too
    again = CliRunner().invoke(app, [command, "--config", str(copied), "--db", f"sqlite:///{db}"])
    assert again.exit_code == 2 and again.output.startswith(f"{copied} is the demo shop 'Rapid Rooter Plumbing'")


def test_demo_lets_the_demo_shop_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELDRELAY_HUBSPOT_TOKEN", raising=False)
    config = tmp_path / "fieldrelay.yaml"
    config.write_text(DEFAULT_YAML.read_text(encoding="utf-8") + "crm: {targets: [hubspot]}\n", encoding="utf-8")
    args = ["worker", "--demo", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'f.db'}"]
    result = CliRunner().invoke(app, args)
    # Past the demo check, it stops only at the missing HubSpot token (a worker that started would run forever).
    assert result.exit_code == 2 and result.output.startswith("cannot start: crm target hubspot needs"), result.output


def test_serve_logs_each_secret_set_or_missing_and_the_missing_api_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HOUSECALLPRO_SECRET", "STRIPE_SECRET", "API_TOKEN"):
        monkeypatch.delenv(f"FIELDRELAY_{name}", raising=False)
    monkeypatch.setenv("FIELDRELAY_HOUSECALLPRO_SECRET", "hcp-value-123")
    served: list[object] = []
    monkeypatch.setattr("fieldrelay.cli.main.uvicorn.run", lambda application, **_: served.append(application))
    config = tmp_path / "fieldrelay.yaml"
    config.write_text("business:\n  name: Volt Electric\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["serve", "--config", str(config), "--db", f"sqlite:///{tmp_path / 'f.db'}"])

    assert result.exit_code == 0, result.output
    assert len(served) == 1
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    said = {(line.get("kind"), line.get("name")): (line["event"], line["level"]) for line in lines}
    assert said[("webhook", "housecallpro")] == ("secret set", "info")
    assert said[("webhook", "stripe")] == ("secret missing", "warning")
    assert said[("api", "token")] == ("secret missing", "warning")
    assert any(line["event"].startswith("no API token is configured: /api answers 503") for line in lines)
    assert "hcp-value-123" not in result.output


def test_serve_on_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "fieldrelay.yaml"
    config.write_text("business:\n  name: Volt Electric\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", "--config", str(config), "--db", "postgres://app:pw@127.0.0.1:1/shop"])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("cannot reach the database postgresql+psycopg://app:***@127.0.0.1:1/shop: ")
