"""The root command: --version, `check` naming the demo shop and each secret, one-line database problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldrelay import __version__
from fieldrelay.cli.main import app
from fieldrelay.rules.loader import DEFAULT_YAML
from tests.conftest import TEST_YAML

cli = CliRunner()
SECRETS = ("HOUSECALLPRO_SECRET", "STRIPE_SECRET", "API_TOKEN", "HUBSPOT_TOKEN", "SESSION_SECRET")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The test shop's fieldrelay.yaml."""
    path = tmp_path / "fieldrelay.yaml"
    path.write_text(TEST_YAML, encoding="utf-8")
    return path


def one_line(output: str) -> str:
    """The output, which must be one line and no traceback."""
    assert output.count("\n") == 1 and "Traceback" not in output, output
    return output.strip()


def test_version() -> None:
    result = cli.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output == f"fieldrelay {__version__}\n"


def test_check_says_which_secrets_are_set_never_their_values(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS:
        monkeypatch.delenv(f"FIELDRELAY_{name}", raising=False)
    monkeypatch.setenv("FIELDRELAY_HOUSECALLPRO_SECRET", "hcp-value-123")
    config.write_text(TEST_YAML + "crm: {targets: [hubspot]}\n", encoding="utf-8")
    result = cli.invoke(app, ["check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  webhook housecallpro   secret set" in lines
    assert "  webhook stripe         secret missing: FIELDRELAY_STRIPE_SECRET; its webhooks get 401" in lines
    assert (
        "  crm hubspot            secret missing: FIELDRELAY_HUBSPOT_TOKEN; serve and worker refuse to start" in lines
    )
    assert "  api token              secret missing: FIELDRELAY_API_TOKEN; /api refuses every request" in lines
    assert "  sms devsms             no secret needed" in lines
    sessions = "  web sessions           secret missing: FIELDRELAY_SESSION_SECRET; every restart signs everyone out"
    assert any(line.startswith(sessions) and "several processes" in line for line in lines), result.output
    assert "hcp-value-123" not in result.output and "demo shop" not in result.output
    monkeypatch.setenv("FIELDRELAY_SESSION_SECRET", "a-long-random-value")
    again = cli.invoke(app, ["check", "--config", str(config)])
    assert "  web sessions           secret set" in again.output.splitlines()


def test_check_without_a_file_says_it_checked_the_demo_shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert f"there is no fieldrelay.yaml in {tmp_path}, so the packaged configuration is the demo shop" in result.output
    assert "`fieldrelay init` writes your own, and serve and worker run this one only with --demo" in result.output
    named = cli.invoke(app, ["check", "--config", str(DEFAULT_YAML)])
    assert f"{DEFAULT_YAML} is the demo shop 'Rapid Rooter Plumbing' (demo: true)" in named.output


@pytest.mark.parametrize("command", [["report"], ["errors", "list"], ["customers", "find", "Pat"], ["lead", "list"]])
def test_a_read_only_command_never_creates_a_missing_sqlite_file(
    command: list[str], config: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "typo.db"
    result = cli.invoke(app, [*command, "--config", str(config), "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 2
    assert one_line(result.output) == (
        f"no database at sqlite:///{missing}: check --db or DATABASE_URL, or create it with `fieldrelay db upgrade`"
    )
    assert not missing.exists()


def test_a_database_without_the_schema_says_run_db_upgrade(empty_db_url: str, config: Path) -> None:
    if empty_db_url.startswith("sqlite"):
        Path(empty_db_url.removeprefix("sqlite:///")).touch()
    result = cli.invoke(app, ["report", "--config", str(config), "--db", empty_db_url])
    assert result.exit_code == 2
    assert one_line(result.output).endswith("has no fieldrelay schema: run `fieldrelay db upgrade`")
    upgraded = cli.invoke(app, ["db", "upgrade", "--db", empty_db_url])
    assert upgraded.exit_code == 0, upgraded.output
    assert cli.invoke(app, ["report", "--config", str(config), "--db", empty_db_url]).exit_code == 0


@pytest.mark.postgres
def test_postgres_urls_are_accepted(pg_database: str, config: Path) -> None:
    for scheme in ("postgres://", "postgresql://"):
        url = pg_database.replace("postgresql+psycopg://", scheme)
        result = cli.invoke(app, ["errors", "list", "--config", str(config), "--db", url])
        assert result.exit_code == 0 and "The error queue is empty." in result.output, result.output


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (
            "postgresql://postgres@127.0.0.1:1/shop",
            "cannot reach the database postgresql+psycopg://postgres@127.0.0.1:1/shop",
        ),
        ("mysql://root@127.0.0.1/shop", "fieldrelay cannot use mysql:// databases"),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line(url: str, says: str, config: Path) -> None:
    for command in (["report"], ["db", "upgrade"]):
        args = [*command, "--db", url] + (["--config", str(config)] if command == ["report"] else [])
        result = cli.invoke(app, args)
        assert result.exit_code == 2 and one_line(result.output).startswith(says), result.output


def test_an_unknown_kind_of_error_is_named(db_url: str, config: Path) -> None:
    result = cli.invoke(app, ["errors", "list", "--kind", "foo", "--config", str(config), "--db", db_url])
    assert result.exit_code == 2
    assert one_line(result.output) == "--kind 'foo' is not a kind of error: give inbox, timer or outbox"
