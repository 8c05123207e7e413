"""The intake writer: deliveries stored in group commits, each told its outcome, one bad one failing alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, select

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.intake import Intake, prepare
from fieldrelay.engine.intake_writer import IntakeWriter
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.storage.tables import inbox
from tests.helpers import job_envelope, signed


class Outcomes:
    """Collects what ``done`` callbacks receive, from any thread."""

    def __init__(self, expected: int) -> None:
        self.results: list[Intake | Exception] = []
        self._lock = threading.Lock()
        self._all = threading.Event()
        self._expected = expected

    def callback(self) -> Callable[[Intake | Exception], None]:
        def done(outcome: Intake | Exception) -> None:
            with self._lock:
                self.results.append(outcome)
                if len(self.results) == self._expected:
                    self._all.set()

        return done

    def wait(self) -> list[Intake | Exception]:
        assert self._all.wait(10), f"only {len(self.results)} of {self._expected} deliveries were answered"
        return self.results


def _rows(runtime: Runtime, job: str, at: datetime) -> list[dict[str, Any]]:
    body, headers = signed(job_envelope("job.completed", "2026-11-02T14:00:00Z", job_id=job), at)
    return prepare(runtime.inbound["housecallpro"], headers, body, at, "default")


def _inbox_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(inbox)).scalar_one())


def test_every_delivery_is_stored_and_answered_and_a_redelivery_is_a_duplicate(runtime: Runtime) -> None:
    stored: list[int] = []
    writer = IntakeWriter(runtime.engine, on_stored=lambda: stored.append(1))
    outcomes = Outcomes(21)
    now = runtime.clock.now()
    for n in range(20):
        writer.submit(_rows(runtime, f"job_{n}", now), outcomes.callback())
    writer.submit(_rows(runtime, "job_0", now), outcomes.callback())
    results = outcomes.wait()
    writer.close()
    assert sorted(str(r) for r in results) == sorted(["accepted"] * 20 + ["duplicate"])
    assert _inbox_count(runtime) == 20
    assert stored, "the worker is woken after a commit"


def test_a_delivery_that_cannot_be_stored_fails_alone(runtime: Runtime) -> None:
    """The group is rolled back and stored one by one: only the bad delivery is refused."""
    writer = IntakeWriter(runtime.engine)
    now = runtime.clock.now()
    bad = [{**_rows(runtime, "job_bad", now)[0], "status": None}]  # NOT NULL column: the database refuses it
    outcomes = Outcomes(4)
    with runtime.engine.begin() as conn:  # hold the database so the next three queue up behind the first
        conn.execute(select(func.count()).select_from(inbox))
        writer.submit(_rows(runtime, "job_first", now), outcomes.callback())
        time.sleep(0.2)
        for rows in (_rows(runtime, "job_a", now), bad, _rows(runtime, "job_b", now)):
            writer.submit(rows, outcomes.callback())
    results = outcomes.wait()
    writer.close()
    assert sum(1 for r in results if isinstance(r, Exception)) == 1
    assert sum(1 for r in results if r is Intake.ACCEPTED) == 3
    assert _inbox_count(runtime) == 3


def test_close_stores_what_is_queued_first(runtime: Runtime) -> None:
    writer = IntakeWriter(runtime.engine)
    outcomes = Outcomes(5)
    now = runtime.clock.now()
    for n in range(5):
        writer.submit(_rows(runtime, f"job_{n}", now), outcomes.callback())
    writer.close()
    assert outcomes.wait() == [Intake.ACCEPTED] * 5
    assert _inbox_count(runtime) == 5


def test_busy_while_deliveries_arrive_and_not_after(runtime: Runtime) -> None:
    writer = IntakeWriter(runtime.engine)
    assert writer.busy() is False
    outcomes = Outcomes(1)
    writer.submit(_rows(runtime, "job_1", runtime.clock.now()), outcomes.callback())
    outcomes.wait()
    assert writer.busy(within_seconds=3600) is True
    assert writer.busy(within_seconds=0) is False
    writer.close()


def test_a_worker_yielding_to_a_busy_intake_still_finishes_its_work(runtime: Runtime) -> None:
    """The yield only shares the process: with intake busy all the time, every row is still applied."""
    writer = IntakeWriter(runtime.engine)
    outcomes = Outcomes(30)
    for n in range(30):
        writer.submit(_rows(runtime, f"job_{n}", runtime.clock.now()), outcomes.callback())
    outcomes.wait()
    writer.close()
    worker = runtime.new_worker("yielding")
    worker.intake_busy = lambda: True
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while worker.backlog() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    with runtime.engine.connect() as conn:
        statuses = set(conn.execute(select(inbox.c.status)).scalars())
    assert statuses == {"done"}


def test_the_writer_survives_a_group_whose_answers_cannot_be_handed_back(runtime: Runtime) -> None:
    """If handing a group's answers back fails (the event loop is gone), later deliveries are still served."""
    calls: list[int] = []

    def dispatch(callback: Callable[[], None]) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Event loop is closed")
        callback()

    writer = IntakeWriter(runtime.engine, dispatch=dispatch)
    lost = Outcomes(1)
    writer.submit(_rows(runtime, "job_1", runtime.clock.now()), lost.callback())
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    served = Outcomes(1)
    writer.submit(_rows(runtime, "job_2", runtime.clock.now()), served.callback())
    assert served.wait() == [Intake.ACCEPTED]
    writer.close()
    assert lost.results == []
    assert _inbox_count(runtime) == 2


def test_deliveries_arriving_while_the_writer_waits_for_the_database_share_its_commit(
    sqlite_url: str, settings: Settings, clock: SimulatedClock, secrets_env: None
) -> None:
    """The group is gathered once the transaction holds SQLite's write lock, not before: one commit for all of them.
    (SQLite only: PostgreSQL has no database-wide write lock for the writer to wait on.)"""
    runtime = build_runtime(sqlite_url, settings=settings, clock=clock, migrate=False)
    commits: list[int] = []
    event.listen(runtime.engine, "commit", lambda _conn: commits.append(1))
    writer = IntakeWriter(runtime.engine)
    now = runtime.clock.now()
    outcomes = Outcomes(5)
    with runtime.engine.begin() as conn:  # another transaction holds the database
        conn.execute(select(func.count()).select_from(inbox))
        held = len(commits)
        writer.submit(_rows(runtime, "job_first", now), outcomes.callback())
        while not writer._queue.empty():  # the writer has taken the first and waits for the database
            time.sleep(0.001)
        for n in range(4):
            writer.submit(_rows(runtime, f"job_{n}", now), outcomes.callback())
    assert outcomes.wait() == [Intake.ACCEPTED] * 5
    writer.close()
    assert len(commits) - held == 2  # the holder's, then one group commit for all five deliveries
    assert _inbox_count(runtime) == 5
    runtime.engine.dispose()
