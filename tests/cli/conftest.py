"""The command-line tests run as the machine's operator unless a test names someone."""

from __future__ import annotations

import pytest

from fieldrelay.cli.acting import USER_ENV


@pytest.fixture(autouse=True)
def nobody_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FIELDRELAY_USER from the shell running the tests."""
    monkeypatch.delenv(USER_ENV, raising=False)
