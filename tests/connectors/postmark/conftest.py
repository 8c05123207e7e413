"""Postmark tests: the Basic credentials in the environment, set before the runtime builds its connectors."""

from __future__ import annotations

import pytest

from tests.connectors.postmark.support import SECRET


@pytest.fixture(autouse=True)
def postmark_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """FIELDRELAY_POSTMARK_SECRET as user:password."""
    monkeypatch.setenv("FIELDRELAY_POSTMARK_SECRET", SECRET)
