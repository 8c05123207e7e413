"""SQLite's write lock shared by `serve`'s two processes, taken in turns: when the API and the worker both wait for
it, the side that had the last transaction lets the other go first.

Why: a lock is not fair. The worker releases it after each transaction and asks again at once, and it usually got
it back before the API's intake writer, woken by the release, was even scheduled; on a loaded 2-core machine intake
then waited through several worker transactions for each group commit (ack p50 131 ms while the worker processed;
py-spy showed the intake thread waiting on the lock half of its time and the event loop mostly idle). A sleep
between the worker's transactions did not help, because how long a woken thread takes to run depends on the load.
With turns, intake waits for at most one worker transaction (``worker.write_budget_ms``) and the worker for at most
one group commit, whatever the scheduler does.
"""

from __future__ import annotations

import threading
import time
from typing import Any

API, WORKER = 0, 1
_LAST = 2  # index of the side that took the lock last; 0 and 1 count each side's threads waiting for it
_POLL_SECONDS = 0.0002
# How long a side that had the last turn defers to a waiting other side at most. The other side takes the lock
# within a scheduler wake-up; the bound only matters if that process died while waiting.
_MAX_DEFER_SECONDS = 0.25


class SharedWriteLock:
    """The lock and its turn counters, made once by `serve` with a ``multiprocessing`` context and passed to the
    worker process; each process takes it through ``side``."""

    def __init__(self, context: Any) -> None:
        self.lock = context.Lock()
        self.state = context.RawArray("i", [0, 0, API])

    def side(self, which: int) -> WriteTurn:
        """This process's handle: ``API`` or ``WORKER``."""
        return WriteTurn(self, which)


class WriteTurn:
    """One side's handle on a ``SharedWriteLock``: ``acquire``/``release`` as ``storage.db.WriteLock`` expects."""

    def __init__(self, shared: SharedWriteLock, which: int) -> None:
        self._lock = shared.lock
        self._state = shared.state
        self._mine, self._other = which, 1 - which
        self._counting = threading.Lock()  # this side's threads update its waiting count

    def acquire(self, *, timeout: float) -> bool:
        """Take the lock within ``timeout`` seconds; after this side's turn, not before a waiting other side."""
        deadline = time.monotonic() + timeout
        state = self._state
        self._count(+1)
        try:
            defer_until = min(deadline, time.monotonic() + _MAX_DEFER_SECONDS)
            while state[self._other] > 0 and state[_LAST] == self._mine and time.monotonic() < defer_until:
                time.sleep(_POLL_SECONDS)
            if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                return False
            state[_LAST] = self._mine
            return True
        finally:
            self._count(-1)

    def release(self) -> None:
        """Let the lock go."""
        self._lock.release()

    def _count(self, step: int) -> None:
        with self._counting:
            self._state[self._mine] += step
