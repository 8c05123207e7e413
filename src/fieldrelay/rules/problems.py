"""Validation errors that name where inside a section they are, so ``fieldrelay check`` can give each its line."""

from __future__ import annotations

from collections.abc import Sequence

Loc = tuple[str | int, ...]


class LocatedProblems(ValueError):
    """Several problems found by one validator, each with its path below the validated section."""

    def __init__(self, problems: Sequence[tuple[Loc, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {message}" for loc, message in self.problems))
