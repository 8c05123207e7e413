"""Waking idle workers on PostgreSQL: LISTEN for the notification a commit of new inbox rows sends.

Migration 0019 has PostgreSQL send ``NOTIFY fieldrelay_inbox`` when a transaction that inserted inbox rows commits,
whichever process wrote them. A worker with nothing to do sleeps for its poll
interval; the listener cuts that sleep short, so a worker in another process starts on a new delivery at once, and
the poll interval is only the fallback (for due timers and outbox rows, and while the listening connection is down).
Claiming stays ``FOR UPDATE SKIP LOCKED``: every idle worker wakes, one takes each row. SQLite has no LISTEN; there
`serve` wakes its worker itself and other workers poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import Engine

from fieldrelay.engine.log_throttle import OUTAGES

log = structlog.get_logger("fieldrelay.worker")

CHANNEL = "fieldrelay_inbox"  # as migration 0019's trigger names it
_CHECK_STOP_SECONDS = 1.0  # how long one wait for notifications lasts before ``stop`` is looked at again
_RETRY_SECONDS = 2.0  # after the listening connection failed (polling goes on meanwhile)


class InboxListener:
    """A thread holding one connection of its own that LISTENs and calls ``on_notify`` for each notification."""

    def __init__(self, engine: Engine, on_notify: Callable[[], None], stop: threading.Event) -> None:
        self._engine = engine
        self._on_notify = on_notify
        self._stop = stop
        self.listening = threading.Event()  # set while LISTEN is in effect
        self._thread = threading.Thread(target=self._run, name="fieldrelay-listen", daemon=True)

    def start(self, ready_within: float = 5.0) -> None:
        """Start listening; wait (up to ``ready_within`` seconds) until LISTEN is in effect, so no commit after this
        returns goes unheard."""
        self._thread.start()
        self.listening.wait(ready_within)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (after ``stop`` is set)."""
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception:  # the database went away: poll until it is back, then listen again
                self.listening.clear()
                held_back = OUTAGES.allow("worker.listen_failed")
                if held_back is not None:
                    log.exception("worker.listen_failed", held_back=held_back)
                self._stop.wait(_RETRY_SECONDS)

    def _listen(self) -> None:
        # A connection of its own, out of the pool: it stays open as long as the worker runs.
        pooled = self._engine.raw_connection()
        conn: Any = pooled.driver_connection
        pooled.detach()
        try:
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self._on_notify()  # anything committed before LISTEN took effect is looked for once more
            while not self._stop.is_set():
                for _ in conn.notifies(timeout=_CHECK_STOP_SECONDS, stop_after=1):
                    self._on_notify()
        finally:
            self.listening.clear()
            conn.close()  # detached from the pool: closing it is this listener's job
            pooled.close()


def listener_for(engine: Engine, on_notify: Callable[[], None], stop: threading.Event) -> InboxListener | None:
    """A listener for PostgreSQL, None for SQLite (which keeps polling)."""
    return InboxListener(engine, on_notify, stop) if engine.dialect.name == "postgresql" else None
