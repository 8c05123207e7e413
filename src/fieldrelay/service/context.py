"""What a handler is given: the transaction's store, the clock reading and the shop's settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fieldrelay.rules.config import Settings
from fieldrelay.service.ports import MirrorStore


class Unattachable(Exception):
    """A well-formed event that cannot be attached to any record; it needs a person, retrying cannot help."""


class ConcurrentChange(Exception):
    """Another worker created the same record at the same moment; roll back and apply again at once."""


@dataclass(frozen=True)
class HandlerContext:
    """One unit of work."""

    store: MirrorStore
    now: datetime
    settings: Settings
