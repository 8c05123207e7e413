"""The Health page's storage on both databases: the worker's backlog sample (once a minute, once across workers, a
week kept), the window read back in buckets, the breaker's recorded circuit beside the inferred one, and the
per-minute counts grouped in SQL."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from fieldrelay.engine.breaker import Transition
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.health import HealthRecorder
from fieldrelay.runtime import Runtime
from fieldrelay.storage.ops import circuits, health, samples
from fieldrelay.storage.ops.tables import health_samples
from tests.storage.error_rows import ACCOUNT
from tests.storage.health_rows import add_delivery, add_due_timer, add_webhook

MIN = timedelta(minutes=1)


def _stored(runtime: Runtime) -> list[tuple[int, str, str, int, float]]:
    h = health_samples.c
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(h.minute, h.queue, h.target, h.waiting, h.oldest_seconds).order_by(h.minute, h.queue, h.target)
        )
        return [tuple(r) for r in rows]


def _recorder(runtime: Runtime, worker: str = "w1") -> HealthRecorder:
    return HealthRecorder(runtime.engine, runtime.clock, ACCOUNT, worker)


def test_the_worker_samples_each_queue_once_a_minute(runtime: Runtime, clock: SimulatedClock) -> None:
    now = clock.now()
    add_webhook(runtime.engine, now - 7 * MIN, "jobber")
    add_webhook(runtime.engine, now - 2 * MIN, "jobber")
    add_due_timer(runtime.engine, now - 3 * MIN)
    add_due_timer(runtime.engine, now + 60 * MIN)  # not due yet: not waiting
    recorder = _recorder(runtime)

    assert recorder.sample() is True
    minute = health.minute_of(now)
    assert _stored(runtime) == [
        (minute, "inbox", "*", 2, 420.0),
        (minute, "inbox", "jobber", 2, 420.0),
        (minute, "outbox", "*", 0, 0.0),
        (minute, "timers", "*", 1, 180.0),
        (minute, "timers", "sequence_step", 1, 180.0),
    ]
    clock.advance(40)
    add_delivery(runtime.engine, clock.now(), "sms")
    assert recorder.sample() is False, "the same minute"
    assert len(_stored(runtime)) == 5
    clock.advance(20)
    assert recorder.sample() is True
    assert [r for r in _stored(runtime) if r[1] == "outbox"] == [
        (minute, "outbox", "*", 0, 0.0),
        (minute + 1, "outbox", "*", 1, 20.0),
        (minute + 1, "outbox", "sms", 1, 20.0),
    ]


def test_a_second_worker_leaves_a_sampled_minute_alone(runtime: Runtime, clock: SimulatedClock) -> None:
    add_webhook(runtime.engine, clock.now() - 5 * MIN)
    assert _recorder(runtime, "w1").sample() is True
    add_webhook(runtime.engine, clock.now() - 1 * MIN, "jobber")
    assert _recorder(runtime, "w2").sample() is False
    assert [r[2] for r in _stored(runtime) if r[1] == "inbox"] == ["*", "housecallpro"], "one worker's snapshot"


def test_workers_sampling_the_same_minute_at_once_write_it_once(runtime: Runtime, clock: SimulatedClock) -> None:
    """The first worker's transaction is still open while the second samples: the second waits for it (PostgreSQL's
    unique key, SQLite's write lock) and then writes nothing."""
    add_webhook(runtime.engine, clock.now() - 5 * MIN)
    now = clock.now()
    outcome: list[bool] = []
    with runtime.engine.connect() as first:
        with first.begin():
            assert samples.record_minute(first, ACCOUNT, now, health.backlog(first, ACCOUNT, now))
            second = threading.Thread(target=lambda: outcome.append(_recorder(runtime, "w2").sample()))
            second.start()
            second.join(0.2)  # the commit may come before the second worker reaches its insert, or after
        second.join(30)
    assert outcome == [False]
    assert len(_stored(runtime)) == 4  # three totals and housecallpro's row, once each


def test_samples_older_than_a_week_are_pruned_when_a_minute_is_written(runtime: Runtime, clock: SimulatedClock) -> None:
    recorder = _recorder(runtime)
    assert recorder.sample()
    clock.advance(timedelta(days=6, hours=23).total_seconds())
    assert recorder.sample()
    assert len({r[0] for r in _stored(runtime)}) == 2
    clock.advance(timedelta(hours=2).total_seconds())
    assert recorder.sample()
    kept = sorted({r[0] for r in _stored(runtime)})
    assert kept == [health.minute_of(clock.now() - timedelta(hours=2)), health.minute_of(clock.now())]


def test_the_window_gives_the_worst_minute_of_each_bucket(runtime: Runtime, clock: SimulatedClock) -> None:
    start = clock.now()  # on a whole minute: the first bucket of a three-hour window ending 179 minutes later
    recorder = _recorder(runtime)
    for waiting in (1, 3, 2):  # the inbox rows are never applied: 1, 4, then 6 wait
        for _ in range(waiting):
            add_webhook(runtime.engine, clock.now())
        assert recorder.sample()
        clock.advance(60)
    clock.advance((179 - 3) * 60)
    assert recorder.sample()
    now = clock.now()
    with runtime.engine.connect() as conn:
        points = samples.window(conn, ACCOUNT, now, 3 * 60)
    starts = samples.bucket_starts(now, 3 * 60)
    assert len(starts) == 60 and starts[0] == start and starts[-1] == now - 2 * MIN
    inbox_total = [(p.start, p.waiting, p.oldest_seconds) for p in points if (p.queue, p.target) == ("inbox", "*")]
    assert inbox_total == [(start, 6, 120.0), (starts[-1], 6, 179 * 60.0)]
    assert [(p.start, p.queue, p.target) for p in points if p.target != "*"] == [
        (start, "inbox", "housecallpro"),
        (starts[-1], "inbox", "housecallpro"),
    ]


def test_the_breaker_s_record_beats_the_inference_from_the_latest_try(runtime: Runtime, clock: SimulatedClock) -> None:
    now = clock.now()
    add_delivery(runtime.engine, now - 12 * MIN, "hubspot", held=True)
    add_delivery(runtime.engine, now - 12 * MIN, "salesforce", held=True)
    recorder = _recorder(runtime)
    recorder.circuit_changed(Transition("hubspot", "open", now - 10 * MIN, now + 5 * MIN))
    recorder.circuit_changed(Transition("hubspot", "half_open", now - 1 * MIN))
    with runtime.engine.connect() as conn:
        views = circuits.current(conn, ACCOUNT, ["hubspot", "salesforce", "pipedrive"])
    assert [(v.target, v.state, v.since, v.next_probe_at, v.recorded) for v in views] == [
        ("hubspot", "half_open", now - 1 * MIN, None, True),
        ("salesforce", "open", now - 12 * MIN, now - 12 * MIN, False),
        ("pipedrive", "closed", None, None, False),
    ]


def test_the_same_state_again_keeps_its_since_and_moves_the_probe(runtime: Runtime, clock: SimulatedClock) -> None:
    now = clock.now()
    _recorder(runtime, "w1").circuit_changed(Transition("hubspot", "open", now, now + 1 * MIN))
    _recorder(runtime, "w2").circuit_changed(Transition("hubspot", "open", now + 1 * MIN, now + 3 * MIN))
    with runtime.engine.connect() as conn:
        state = circuits.recorded(conn, ACCOUNT)["hubspot"]
    assert (state.state, state.since, state.next_probe_at, state.worker_id) == ("open", now, now + 3 * MIN, "w2")


def test_per_minute_counts_fall_in_their_clock_minutes(runtime: Runtime, clock: SimulatedClock) -> None:
    clock.advance(30)  # half past: the current minute is the last bin, partly gone
    now = clock.now()
    this_minute = now.replace(second=0, microsecond=0)
    add_webhook(runtime.engine, this_minute + timedelta(seconds=5), processed_at=this_minute + timedelta(seconds=6))
    add_webhook(runtime.engine, this_minute - timedelta(seconds=1))
    add_webhook(runtime.engine, this_minute - 14 * MIN)
    add_webhook(runtime.engine, this_minute - 14 * MIN - timedelta(seconds=1))  # before the span
    add_delivery(runtime.engine, now - 3 * MIN, sent_at=this_minute - 2 * MIN)
    with runtime.engine.connect() as conn:
        flow = health.per_minute(conn, ACCOUNT, now, 15)
        total = conn.execute(select(func.count()).select_from(health_samples)).scalar_one()
    assert flow["webhooks acknowledged"] == [1] + [0] * 12 + [1, 1]
    assert flow["events applied"] == [0] * 14 + [1]
    assert flow["deliveries sent"] == [0] * 12 + [1, 0, 0]
    assert total == 0, "reading never samples"
