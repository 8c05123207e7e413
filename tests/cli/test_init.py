"""``fieldrelay init``: a starter fieldrelay.yaml for the user's shop that `fieldrelay check` accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.rules.loader import load_settings

cli = CliRunner()


def test_init_from_flags_writes_a_file_check_accepts(tmp_path: Path) -> None:
    path = tmp_path / "fieldrelay.yaml"
    flags = [
        "--name",
        "Volt Electric",
        "--time-zone",
        "America/Denver",
        "--hours",
        "mon-fri 07:00-16:00; sat 08:00-12:00",
    ]
    result = cli.invoke(app, ["init", *flags, "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        "Wrote" in result.output
        and "Volt Electric (America/Denver; mon-fri 07:00-16:00, sat 08:00-12:00)" in result.output
    )
    settings = load_settings(path)
    assert settings.business.name == "Volt Electric" and not settings.demo
    checked = cli.invoke(app, ["check", "--config", str(path)])
    assert checked.exit_code == 0, checked.output
    assert "OK Volt Electric (America/Denver)" in checked.output and "demo shop" not in checked.output


def test_init_asks_for_what_the_flags_leave_out(tmp_path: Path) -> None:
    path = tmp_path / "fieldrelay.yaml"
    result = cli.invoke(app, ["init", "--config", str(path)], input="Sparks & Sons\n\n\n")
    assert result.exit_code == 0, result.output
    assert "Shop name" in result.output and "Time zone" in result.output and "Business hours" in result.output
    settings = load_settings(path)
    assert settings.business.name == "Sparks & Sons" and settings.business.time_zone == "America/Chicago"
    assert settings.business.business_hours["fri"] == "08:00-17:00" and settings.business.business_hours["sat"] is None


def test_init_writes_into_the_current_folder_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli.invoke(app, ["init", "--name", "Volt Electric", "--time-zone", "UTC", "--hours", "08:00-17:00"])
    assert result.exit_code == 0, result.output
    assert load_settings().business.name == "Volt Electric"  # ./fieldrelay.yaml, not the packaged demo


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    path = tmp_path / "fieldrelay.yaml"
    path.write_text("business: {name: Mine}\n", encoding="utf-8")
    flags = ["--name", "Volt Electric", "--time-zone", "UTC", "--hours", "08:00-17:00", "--config", str(path)]
    refused = cli.invoke(app, ["init", *flags])
    assert refused.exit_code == 2
    assert refused.output == f"{path} already exists: edit it, or pass --force to replace it with a starter file\n"
    assert path.read_text(encoding="utf-8") == "business: {name: Mine}\n"
    forced = cli.invoke(app, ["init", *flags, "--force"])
    assert forced.exit_code == 0 and load_settings(path).business.name == "Volt Electric"


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--time-zone", "Mars/Olympus"], "--time-zone: unknown time zone 'Mars/Olympus'"),
        (["--hours", "9 to 5"], "--hours: cannot read '9 to 5'"),
        (["--name", "  "], "the shop's name cannot be empty"),
    ],
)
def test_init_refuses_what_it_cannot_use_and_writes_nothing(flags: list[str], says: str, tmp_path: Path) -> None:
    path = tmp_path / "fieldrelay.yaml"
    given = {"--name": "Volt Electric", "--time-zone": "UTC", "--hours": "08:00-17:00"} | dict([flags])
    result = cli.invoke(app, ["init", *(x for pair in given.items() for x in pair), "--config", str(path)])
    assert result.exit_code == 2 and result.output.startswith(says), result.output
    assert "Traceback" not in result.output and not path.exists()
