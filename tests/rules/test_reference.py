"""docs/configuration.md is what ``fieldrelay config docs`` makes of the models: a key added, renamed or given a new
default without regenerating it fails here."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.rules.config import Settings
from fieldrelay.rules.environment import VARIABLES
from fieldrelay.rules.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_committed_configuration_reference_is_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is out of date: run `fieldrelay config docs --output docs/configuration.md`"
    )


def test_the_reference_names_every_key_with_its_default_and_every_variable() -> None:
    text = render()
    for name in Settings.model_fields:
        assert f"| `{name}` |" in text or f"| `{name}." in text, name
    assert "| `messaging.marketing_per_week` | integer | `3` | Marketing touches" in text
    assert "| `business.name` | text | required |" in text
    assert "| `sequences.<name>.steps[].after` | text | required | Offset from the anchor" in text
    assert "| `identity.merge_at` | number | `0.95` |" in text
    for variable in VARIABLES:
        assert f"| `{variable.name}` |" in text


def test_a_changed_default_changes_the_reference(monkeypatch) -> None:
    field = Settings.model_fields["stale_after_minutes"]
    monkeypatch.setattr(field, "default", 20.0)
    assert "| `stale_after_minutes` | number | `20.0` |" in render()


def test_config_docs_prints_it_or_writes_it(tmp_path: Path) -> None:
    printed = CliRunner().invoke(app, ["config", "docs"])
    assert printed.exit_code == 0 and printed.output == render()
    written = CliRunner().invoke(app, ["config", "docs", "--output", str(tmp_path / "c.md")])
    assert written.exit_code == 0 and (tmp_path / "c.md").read_text(encoding="utf-8") == render()
