"""fieldrelay.yaml loading: the packaged default is valid; every problem names its line; `fieldrelay check`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fieldrelay.cli.main import app
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import DEFAULT_YAML, ConfigError, ConfigProblem, load_settings, parse_settings


def problems_of(text: str) -> list[ConfigProblem]:
    """The problems parse_settings reports for ``text`` (which must be invalid)."""
    with pytest.raises(ConfigError) as info:
        parse_settings(textwrap.dedent(text).lstrip("\n"), "shop.yaml")
    assert info.value.source == "shop.yaml"
    assert info.value.problems
    return info.value.problems


def only_problem(text: str) -> ConfigProblem:
    """The single problem reported for ``text``."""
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_packaged_default_is_valid() -> None:
    settings = parse_settings(DEFAULT_YAML.read_text(encoding="utf-8"), str(DEFAULT_YAML))
    assert settings.business.name == "Rapid Rooter Plumbing"
    assert settings.business.time_zone == "America/Chicago"
    hours = settings.business.opening_hours()
    assert sorted(hours) == ["fri", "mon", "thu", "tue", "wed"]
    assert f"{hours['mon'].opens:%H:%M}-{hours['mon'].closes:%H:%M}" == "08:00-17:00"
    assert (settings.retry.max_attempts, settings.retry.base_seconds, settings.retry.max_seconds) == (8, 30, 21600)
    assert settings.connectors.housecallpro.max_timestamp_age_seconds == 300


def test_load_settings_falls_back_to_packaged_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings() == parse_settings(DEFAULT_YAML.read_text(encoding="utf-8"))


def test_load_settings_prefers_local_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fieldrelay.yaml").write_text("business:\n  name: Volt Electric\n", encoding="utf-8")
    assert load_settings().business.name == "Volt Electric"


def test_load_settings_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file") as info:
        load_settings(tmp_path / "absent.yaml")
    assert info.value.problems[0].line is None


def test_minimal_file_takes_defaults() -> None:
    settings = parse_settings("business:\n  name: Volt Electric\n")
    assert settings == Settings.model_validate({"business": {"name": "Volt Electric"}})
    assert settings.business.opening_hours()["fri"].closes.hour == 17
    assert "sat" not in settings.business.opening_hours()


def test_unknown_time_zone() -> None:
    problem = only_problem(
        """
        business:
          name: Rapid Rooter Plumbing
          time_zone: Mars/Olympus
        """
    )
    assert problem.line == 3
    assert problem.path == "business.time_zone"
    assert "unknown time zone 'Mars/Olympus'" in problem.message
    assert str(problem).startswith("line 3: business.time_zone: ")


def test_hours_closing_before_opening() -> None:
    problem = only_problem(
        """
        account_id: default
        business:
          name: Rapid Rooter Plumbing
          business_hours:
            mon: "17:00-08:00"
        """
    )
    assert problem.line == 5
    assert problem.path == "business.business_hours.mon"
    assert "'17:00-08:00' close before they open" in problem.message


def test_hours_in_am_pm_form() -> None:
    problem = only_problem(
        """
        business:
          name: Rapid Rooter Plumbing
          business_hours:
            tue: 8am-5pm
        """
    )
    assert problem.line == 4
    assert "'8am-5pm' must look like 08:00-17:00" in problem.message


@pytest.mark.parametrize("window", ["25:00-26:00", "08:61-17:00", "08:00-25:00", "08:00-17:60"])
def test_hours_that_are_not_times(window: str) -> None:
    problem = only_problem(f"business:\n  name: X\n  business_hours:\n    wed: '{window}'\n")
    assert problem.line == 4
    assert "are not valid times" in problem.message


def test_hours_past_24_00_refused() -> None:
    problem = only_problem("business:\n  name: X\n  business_hours:\n    wed: '08:00-24:30'\n")
    assert "are not valid times" in problem.message


def test_hours_until_midnight_allowed() -> None:
    settings = parse_settings("business:\n  name: X\n  business_hours:\n    sat: '10:00-24:00'\n")
    assert f"{settings.business.opening_hours()['sat'].closes:%H:%M}" == "23:59"


def test_unknown_day() -> None:
    problem = only_problem(
        """
        business:
          name: Rapid Rooter Plumbing
          business_hours:
            monday: "08:00-17:00"
        """
    )
    assert problem.line == 4
    assert problem.path == "business.business_hours.monday"
    assert "'monday' is not allowed here" in problem.message and "'mon'" in problem.message


def test_bad_hours_on_a_later_day_names_that_line() -> None:
    problem = only_problem(
        """
        business:
          name: Rapid Rooter Plumbing
          business_hours:
            mon: "08:00-17:00"
            tue: "08:00-17:00"
            wed: 8am-5pm
        """
    )
    assert problem.line == 6


def test_unknown_nested_key() -> None:
    problem = only_problem(
        """
        business:
          name: Rapid Rooter Plumbing
        retry:
          max_attempts: 3
          base_secs: 30
        """
    )
    assert (problem.line, problem.path) == (5, "retry.base_secs")
    assert "Extra inputs are not permitted" in problem.message


def test_unknown_top_level_key() -> None:
    problem = only_problem("business:\n  name: X\nsms_provder: twilio\n")
    assert (problem.line, problem.path) == (3, "sms_provder")
    assert "Extra inputs are not permitted" in problem.message


def test_unknown_section_names_its_own_line() -> None:
    problem = only_problem("business:\n  name: X\nreveiw_request:\n  delay_minutes: 5\n")
    assert (problem.line, problem.path) == (3, "reveiw_request")


def test_missing_business_name() -> None:
    """The key is absent, so the line points into its parent: ``business:`` (2) or the block's first line (3)."""
    problem = only_problem(
        """
        account_id: default
        business:
          time_zone: America/Chicago
        """
    )
    assert problem.path == "business.name"
    assert problem.line in (2, 3)
    assert problem.message == "Field required"


def test_empty_business_name() -> None:
    problem = only_problem("business:\n  name: ''\n")
    assert (problem.line, problem.path) == (2, "business.name")


def test_missing_business_block() -> None:
    problem = only_problem("account_id: default\n")
    assert (problem.line, problem.path) == (1, "business")


def test_every_problem_is_reported() -> None:
    problems = problems_of(
        """
        business:
          name: Rapid Rooter Plumbing
          time_zone: Mars/Olympus
        retry:
          max_attempts: 0
        worker:
          batch_size: lots
        """
    )
    assert [(p.line, p.path) for p in problems] == [
        (3, "business.time_zone"),
        (5, "retry.max_attempts"),
        (7, "worker.batch_size"),
    ]


def test_error_message_lists_lines() -> None:
    with pytest.raises(ConfigError) as info:
        parse_settings("business:\n  name: X\n  time_zone: Nowhere\n", "shop.yaml")
    assert str(info.value).startswith("shop.yaml: line 3: business.time_zone: ")


def test_not_yaml() -> None:
    problem = only_problem("business:\n  name: X\n\ttime_zone: UTC\n")
    assert problem.line == 3
    assert problem.path == ""
    assert problem.message.startswith("not valid YAML: ")


def test_unclosed_flow_sequence_is_not_yaml() -> None:
    problem = only_problem("business:\n  name: [unclosed\n")
    assert problem.message.startswith("not valid YAML: ")
    assert problem.line is not None


@pytest.mark.parametrize("text", ["- business\n- retry\n", "just words\n", "", "42\n"])
def test_yaml_that_is_not_a_mapping(text: str) -> None:
    problem = only_problem(text)
    assert problem.line == 1
    assert problem.message == "the file must be a mapping of settings"


# --- fieldrelay check -----------------------------------------------------------------------------------


def test_check_good_file() -> None:
    result = CliRunner().invoke(app, ["check", "--config", str(DEFAULT_YAML)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert "Rapid Rooter Plumbing (America/Chicago)" in result.output
    summary = " ".join(result.output.split())
    assert "field mapping: 10 events write 19 CRM fields" in summary
    assert "pipeline: 9 stages; texts 08:00-21:00 customer time" in summary
    assert "sequences: 11 of 11 enabled; templates: 16; texts by devsms, email by devmail" in summary


def test_check_refuses_a_template_naming_a_value_no_template_gets(tmp_path: Path) -> None:
    path = tmp_path / "fieldrelay.yaml"
    text = DEFAULT_YAML.read_text(encoding="utf-8").replace("{{ review_url }}", "{{ reveiw_url }}", 1)
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 1, result.output
    summary = " ".join(result.output.split())
    assert summary.startswith("Templates that cannot render:")
    assert "'reveiw_url' is undefined" in summary and "OK" not in summary


def test_check_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "fieldrelay.yaml"
    path.write_text("business:\n  name: X\n  business_hours:\n    mon: 8am-5pm\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert "is not valid" in result.output
    assert "line 4" in result.output
    assert "business.business_hours" in result.output


def test_check_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", "--config", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 1
    assert "cannot read file" in result.output


def test_check_prints_problem_text_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "fieldrelay.yaml"
    path.write_text("business:\n  name: X\n  time_zone: '[/x]'\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "unknown time zone '[/x]'" in result.output
