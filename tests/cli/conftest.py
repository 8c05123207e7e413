"""The command-line tests run as the machine's operator unless a test names someone."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from fieldrelay.cli.acting import USER_ENV


@pytest.fixture(autouse=True)
def nobody_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FIELDRELAY_USER from the shell running the tests."""
    monkeypatch.delenv(USER_ENV, raising=False)


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """worker and serve configure logging onto the CliRunner's stderr, which is closed after the call: put the
    configuration back, or every later test that logs would write to a closed file."""
    structlog_config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        structlog.configure(**structlog_config)
        root.handlers[:] = handlers
        root.setLevel(level)
