"""The clock port: everything that needs the time asks one of these, so the demo and tests can move time by hand."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Source of the current UTC time; engine/clock.py holds the real and the simulated one."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...
