"""Agreement: the root fieldrelay.yaml, the packaged default (rules/default.yaml) and the code's defaults.

``load_settings`` reads ./fieldrelay.yaml when it exists, else the packaged default (rules/loader.py), and
rules/library.py calls the packaged file "fieldrelay.yaml as shipped". So the two files must hold the same settings,
key for key: a shop running from a checkout and one running an installed package get the same service. Comments may
differ: the root file carries commented-out examples for a shop to fill in, which must be valid settings when
uncommented. And the packaged file spells out the code's defaults (README, Configuration), apart from the example
shop's identity and the documented exceptions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fieldrelay.rules.config import Settings
from fieldrelay.rules.library import PACKAGED_YAML
from fieldrelay.rules.loader import DEFAULT_YAML, ConfigError, parse_settings

ROOT_YAML = Path(__file__).resolve().parents[2] / "fieldrelay.yaml"
# Where the packaged file may say something other than the code's default, and why.
NOT_THE_CODE_DEFAULT = {
    "business": "the example shop (the code has no default business)",
    "demo": "the packaged file is the demo shop's: `serve` and `worker` refuse it without --demo",
    "messaging.email.from_name": "the example shop's name on its email",
    "referrals.enabled": "README: `referrals.enabled` defaults to false, the shipped fieldrelay.yaml turns it on",
}
# A commented-out top-level key ("# team:") starts an example block; its lines go on with "#   " or "# - ".
_EXAMPLE_START = re.compile(r"^# ([a-z_]+):")
_EXAMPLE_LINE = re.compile(r"^#( {2,}| ?- )")


def differences(left: Any, right: Any, path: str, left_name: str, right_name: str) -> Iterator[str]:
    """Every place two loaded YAML documents differ, named by its dotted path and which side holds what."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in [*left, *(k for k in right if k not in left)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in right:
                yield f"{where}: only in {left_name}"
            elif key not in left:
                yield f"{where}: only in {right_name}"
            else:
                yield from differences(left[key], right[key], where, left_name, right_name)
    elif left != right:
        yield f"{path}: {left_name} has {left!r}, {right_name} has {right!r}"


def loaded(path: Path) -> dict[str, Any]:
    """A YAML file's data."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a mapping of settings"
    return data


def commented_examples(path: Path) -> dict[str, str]:
    """The commented-out example blocks of a file, uncommented, by their top-level key."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if start := _EXAMPLE_START.match(line):
            current = blocks.setdefault(start.group(1), [])
            current.append(line[2:])
        elif current is not None and _EXAMPLE_LINE.match(line):
            current.append(line[2:])
        else:
            current = None
    return {key: "\n".join(lines) + "\n" for key, lines in blocks.items()}


def test_the_packaged_default_is_the_file_the_loader_falls_back_to() -> None:
    assert DEFAULT_YAML.resolve() == PACKAGED_YAML.resolve(), (
        f"rules/loader.py falls back to {DEFAULT_YAML} but rules/library.py reads the default library from "
        f"{PACKAGED_YAML}: the fallback and the library would be two files"
    )


def test_the_root_fieldrelay_yaml_holds_the_same_settings_as_the_packaged_default() -> None:
    found = list(differences(loaded(ROOT_YAML), loaded(PACKAGED_YAML), "", "fieldrelay.yaml", "rules/default.yaml"))
    assert not found, (
        "the root fieldrelay.yaml and the packaged rules/default.yaml (loaded when there is no ./fieldrelay.yaml) "
        "must hold the same settings; change both:\n  " + "\n  ".join(found)
    )


def test_the_commented_examples_are_settings_that_load() -> None:
    """ "Uncomment and fill in" must give a file that loads: every example names a real section and they parse."""
    examples = {path: commented_examples(path) for path in (ROOT_YAML, PACKAGED_YAML)}
    assert {"team", "sop"} <= set(examples[ROOT_YAML]), "the check no longer finds the root file's examples"
    for path, blocks in examples.items():
        unknown = sorted(set(blocks) - set(Settings.model_fields))
        assert not unknown, f"{path.name} has commented examples for {unknown}, which rules/config.py Settings lacks"
        # All uncommented at once, as a shop would; a ConfigError names the example line that is wrong.
        try:
            parse_settings("business: {name: Example Shop}\n" + "".join(blocks.values()), f"{path.name} (uncommented)")
        except ConfigError as exc:
            pytest.fail(f"{path.name}'s commented examples do not load once uncommented: {exc}")


def test_the_packaged_default_spells_out_the_codes_defaults() -> None:
    data = loaded(PACKAGED_YAML)
    packaged = parse_settings(PACKAGED_YAML.read_text(encoding="utf-8"), str(PACKAGED_YAML))
    code = Settings.model_validate({"business": data["business"]})
    spelled_out = {key: value for key, value in packaged.model_dump(mode="json").items() if key in data}
    defaults = {key: value for key, value in code.model_dump(mode="json").items() if key in data}
    found = [
        difference
        for difference in differences(spelled_out, defaults, "", "rules/default.yaml", "the code's default")
        if not any(difference.startswith((allowed + ".", allowed + ":")) for allowed in NOT_THE_CODE_DEFAULT)
    ]
    assert not found, (
        "the packaged default says something other than the code's default (README, Configuration); change one, or "
        "list the difference in NOT_THE_CODE_DEFAULT with why:\n  " + "\n  ".join(found)
    )


def test_every_packaged_template_is_used_by_a_packaged_sequence() -> None:
    """Steps name templates that exist (``fieldrelay check``); the other way round, no packaged template is dead."""
    packaged = parse_settings(PACKAGED_YAML.read_text(encoding="utf-8"), str(PACKAGED_YAML))
    used = {step.template for sequence in packaged.sequences.values() for step in sequence.steps if step.template}
    unused = sorted(set(packaged.templates) - used)
    assert not unused, f"rules/default.yaml defines templates no sequence step uses: {unused}"
    missing = sorted(used - set(packaged.templates))
    assert not missing, f"rules/default.yaml sequence steps name templates it does not define: {missing}"
