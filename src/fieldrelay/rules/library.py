"""The packaged default configuration: fieldrelay.yaml as shipped, and the default sequence library inside it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

PACKAGED_YAML = Path(__file__).with_name("default.yaml")


@cache
def _packaged() -> dict[str, Any]:
    loaded = yaml.safe_load(PACKAGED_YAML.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def packaged_section(name: str) -> Any:
    """One top-level section of the packaged default.yaml (the single place the default library is written)."""
    return _packaged()[name]
