"""Load and validate fieldrelay.yaml, reporting each problem with its line number."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fieldrelay.rules.config import Settings
from fieldrelay.rules.problems import LocatedProblems

DEFAULT_PATH = Path("fieldrelay.yaml")
DEFAULT_YAML = Path(__file__).with_name("default.yaml")


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with the configuration file."""

    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"


class ConfigError(Exception):
    """The configuration file could not be loaded; carries every problem found."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(str(p) for p in problems))


def config_path(path: Path | None = None) -> Path:
    """The file settings come from: the given one, else ./fieldrelay.yaml if present, else the packaged demo shop's."""
    if path is not None:
        return path
    return DEFAULT_PATH if DEFAULT_PATH.exists() else DEFAULT_YAML


def load_settings(path: Path | None = None) -> Settings:
    """Read the given file, else ./fieldrelay.yaml if present, else the packaged default."""
    path = config_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [ConfigProblem(None, "", f"cannot read file: {exc.strerror}")]) from exc
    return parse_settings(text, str(path))


def parse_settings(text: str, source: str = "<config>") -> Settings:
    """Validate YAML text into Settings or raise ConfigError with line-numbered problems."""
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(source, [ConfigProblem(line, "", f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigProblem(1, "", "the file must be a mapping of settings")])
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = [problem for err in exc.errors() for problem in _problems(root, err)]
        raise ConfigError(source, problems) from exc


def _problems(root: Any, err: Any) -> list[ConfigProblem]:
    """The problems of one pydantic error; a validator's LocatedProblems become one per place, each with its line."""
    found = (err.get("ctx") or {}).get("error")
    if isinstance(found, LocatedProblems):
        return [_problem(root, (*err["loc"], *loc), message) for loc, message in found.problems]
    return [_problem(root, err["loc"], err["msg"])]


def _problem(root: Any, loc: tuple[int | str, ...], message: str) -> ConfigProblem:
    """One problem; a bad mapping key (pydantic's "[key]" location) is named as the key itself."""
    if loc and loc[-1] == "[key]":
        loc = loc[:-1]
        message = f"{loc[-1]!r} is not allowed here: {message}"
    return ConfigProblem(_line_of(root, loc), ".".join(str(p) for p in loc), message)


def _line_of(node: Any, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc``, or of its nearest existing parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
            if pair is None:
                return line
            # The key's line: for a nested block the value starts only on the next line.
            line = pair[0].start_mark.line + 1
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line
