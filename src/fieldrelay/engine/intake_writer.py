"""Group commit for webhook intake: one writer thread stores whatever deliveries are waiting in one transaction.

Why: on SQLite every write takes the database's single write lock. Storing each delivery in its own transaction
from the request handler made every request wait its turn for the lock (and for the worker's transactions),
which capped acknowledgements far below what the HTTP layer can take (see bench/ingest.py). One writer that
commits a group of deliveries at once pays for the lock and the commit once per group. A delivery is
acknowledged only after the group's commit returns, so an acknowledged webhook is always on disk.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Engine

from fieldrelay.engine.intake import Intake, store
from fieldrelay.engine.log_throttle import OUTAGES

log = structlog.get_logger("fieldrelay.intake")


Done = Callable[[Intake | Exception], None]


@dataclass(frozen=True)
class _Job:
    rows: Sequence[Mapping[str, Any]]
    done: Done


def _run_inline(callback: Callable[[], None]) -> None:
    callback()


class IntakeWriter:
    """Stores prepared inbox rows from any thread; each delivery's ``done`` is called after its group's commit.

    ``dispatch`` runs the group's completions where the callers need them (an event loop's
    ``call_soon_threadsafe``): one hand-over per group rather than one per delivery.
    """

    def __init__(
        self,
        engine: Engine,
        on_stored: Callable[[], None] | None = None,
        dispatch: Callable[[Callable[[], None]], object] = _run_inline,
        max_group: int = 256,
    ) -> None:
        self._engine = engine
        self._on_stored = on_stored
        self._dispatch = dispatch
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last_write = float("-inf")  # time.monotonic() of the last group written

    def submit(self, rows: Sequence[Mapping[str, Any]], done: Done) -> None:
        """Queue one delivery's rows for the next group commit; ``done`` gets its outcome or the error."""
        self._start()
        self._queue.put(_Job(rows, done))

    def busy(self, within_seconds: float = 0.05) -> bool:
        """True when deliveries are queued or a group was written in the last ``within_seconds``."""
        return not self._queue.empty() or time.monotonic() - self._last_write < within_seconds

    def close(self, timeout: float = 10.0) -> None:
        """Store what is queued, then stop the writer thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fieldrelay-intake", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            stopping = False
            try:
                stopping = self._write([first], gather=True)
            except Exception:  # this thread must outlive any one group, or every later request would hang
                log.exception("intake.group_failed")
            if stopping:
                return

    def _gather(self, group: list[_Job]) -> bool:
        """Add queued deliveries to ``group`` up to the group size; True when a stop was queued among them."""
        while len(group) < self._max_group:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return False
            if job is None:
                return True
            group.append(job)
        return False

    def _write(self, group: list[_Job], gather: bool = False) -> bool:
        """Store ``group`` in one transaction (with ``gather``, and what was queued by the time it began); True when
        a stop was queued meanwhile."""
        self._last_write = time.monotonic()
        stopping = False
        try:
            with self._engine.begin() as conn:
                # Gathered once the transaction holds the write lock (SQLite: after waiting for the worker's
                # transaction), so the deliveries that came in meanwhile share this commit instead of waiting for
                # another turn of the lock.
                if gather:
                    stopping = self._gather(group)
                outcomes: list[Intake | Exception] = [store(conn, job.rows) for job in group]
        except Exception as exc:
            if len(group) > 1:
                # One bad delivery must not fail the others: store each on its own so only it is refused.
                for job in group:
                    self._write([job])
                return stopping
            held_back = OUTAGES.allow("intake.store_failed")  # an outage fails every delivery the same way
            if held_back is not None:
                log.exception("intake.store_failed", held_back=held_back)
            outcomes = [exc]
        else:
            if self._on_stored is not None:
                self._on_stored()
        finished = [(job.done, outcome) for job, outcome in zip(group, outcomes, strict=True)]
        self._dispatch(lambda: _complete(finished))
        return stopping


def _complete(finished: list[tuple[Done, Intake | Exception]]) -> None:
    for done, outcome in finished:
        done(outcome)
