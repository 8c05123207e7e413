"""The worker's share of the Health page while it runs: a backlog sample as it starts and one in each new minute."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.storage.ops.health import minute_of
from fieldrelay.storage.ops.tables import health_samples


def _sampled_minutes(runtime: Runtime) -> set[int]:
    with runtime.engine.connect() as conn:
        return set(conn.execute(select(health_samples.c.minute)).scalars())


def _wait_for(runtime: Runtime, minutes: set[int]) -> set[int]:
    deadline = time.monotonic() + 30
    while _sampled_minutes(runtime) != minutes and time.monotonic() < deadline:
        time.sleep(0.02)
    return _sampled_minutes(runtime)


def test_a_running_worker_samples_the_backlog_each_minute(runtime: Runtime, clock: SimulatedClock) -> None:
    worker = runtime.new_worker("sampling")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        first = minute_of(clock.now())
        assert _wait_for(runtime, {first}) == {first}
        clock.advance(60)
        worker.wake.set()  # an idle worker polls; wake it rather than wait for the poll
        assert _wait_for(runtime, {first, first + 1}) == {first, first + 1}
    finally:
        stop.set()
        worker.wake.set()
        thread.join(10)
    assert not thread.is_alive()
