"""What a handler is given: the transaction's store, the clock reading and the shop's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fieldrelay.rules.config import Settings
from fieldrelay.service.changes import Change
from fieldrelay.service.ports import MirrorStore


class Unattachable(Exception):
    """A well-formed event that cannot be attached to any record; it needs a person, retrying cannot help."""


class ConcurrentChange(Exception):
    """Another worker created the same record at the same moment; roll back and apply again at once."""


@dataclass(frozen=True)
class HandlerContext:
    """One unit of work: what its handlers read and write, and the changes they published for the bus."""

    store: MirrorStore
    now: datetime
    settings: Settings
    published: list[Change] = field(default_factory=list, compare=False, repr=False)

    def publish(self, change: Change) -> None:
        """Hand a change to the bus: the reactions bus.py lists for it run before the unit of work commits."""
        self.published.append(change)
