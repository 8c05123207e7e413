"""Crash and race tests with real worker processes: SIGKILL mid-backlog, then recovery; two workers at once.

Each test fills the inbox with signed Housecall Pro deliveries (booked, completed, paid for every job),
runs ``python -m fieldrelay worker`` on them on the real clock (review delay 0, so every review request is
due at once), and checks that nothing was applied twice and no text went out twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, or_, select

from fieldrelay.engine.clock import RealClock
from fieldrelay.engine.intake import Intake, receive
from fieldrelay.runtime import build_runtime
from fieldrelay.storage.tables import activities, customers, dev_sms_sent, inbox, jobs, messages, outbox, timers
from tests.conftest import HCP_SECRET
from tests.helpers import delivery, job_envelope, signed

pytestmark = pytest.mark.slow

JOBS = 100
EVENTS = ("job.created", "job.completed", "job.paid")
BATCH = 20
CONFIG = f"""
account_id: default
business:
  name: Rapid Rooter Plumbing
  time_zone: America/Chicago
worker:
  lease_seconds: 2
  batch_size: {BATCH}
  poll_interval_seconds: 0.01
review_request:
  delay_minutes: 0
  review_url: https://g.page/r/rapid-rooter/review
# The workers run on the real clock: texts may go out at any hour, or a night-time run would wait for the morning.
text_hours: "00:00-24:00"
"""
WAIT_SECONDS = 60.0


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "fieldrelay.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def backlog_order(waves: bool, jobs: int = JOBS) -> list[tuple[int, int]]:
    """(job, step) pairs in delivery order.

    Per job: booked, completed, paid of one job follow each other. In waves: each batch-sized group of jobs is
    booked, then completed, then paid, so two workers claiming neighbouring batches at the same moment apply
    different events of the same new jobs concurrently.
    """
    if not waves:
        return [(n, step) for n in range(jobs) for step in range(len(EVENTS))]
    group = BATCH
    return [
        (n, step)
        for first in range(0, jobs, group)
        for step in range(len(EVENTS))
        for n in range(first, min(first + group, jobs))
    ]


def fill_backlog(url: str, config: Path, waves: bool = False, jobs: int = JOBS, first_phone: int = 1000) -> int:
    """Migrate, then sign, verify and receive booked/completed/paid for each of ``jobs`` jobs (customer ``n`` has
    the phone (512) 555-``first_phone + n``); return the inbox size."""
    runtime = build_runtime(url, config_path=config, clock=RealClock())
    try:
        connector = runtime.inbound["housecallpro"]
        now = runtime.clock.now()
        base = now.replace(microsecond=0) - timedelta(hours=4)
        total = 0
        for n, step in backlog_order(waves, jobs):
            event = EVENTS[step]
            envelope = job_envelope(
                event,
                _iso(base + timedelta(minutes=n, seconds=step * 600)),
                job_id=f"job_{n}",
                customer_id=f"cus_{n}",
                phone=f"(512) 555-{first_phone + n:04d}",
                email=f"customer{n}@example.com",
                balance=0 if event == "job.paid" else None,
            )
            raw, headers = signed(envelope, now)
            lowered = {k.lower(): v for k, v in headers.items()}
            assert connector.verify(delivery(lowered, raw), now) is None
            outcome = receive(runtime.engine, connector, lowered, raw, now, runtime.settings.account_id)
            assert outcome is Intake.ACCEPTED
            total += 1
        return total
    finally:
        runtime.engine.dispose()


class Workers:
    """Starts ``python -m fieldrelay worker`` processes and makes sure none outlives the test."""

    def __init__(self, url: str, config: Path, logs: Path) -> None:
        self.url = url
        self.config = config
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {**os.environ, "FIELDRELAY_HOUSECALLPRO_SECRET": HCP_SECRET}
        self.env.pop("DATABASE_URL", None)

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        command = [sys.executable, "-m", "fieldrelay", "worker", "--db", self.url, "--config", str(self.config)]
        proc = subprocess.Popen(
            [*command, "--worker-id", name],
            cwd=self.logs,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def log_tail(self, chars: int = 3000) -> str:
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')[-chars:]}")
        return "\n".join(parts)

    def started(self, expected: int) -> bool:
        """Whether ``expected`` workers have logged that they are running."""
        return sum("worker.started" in p.read_text(errors="replace") for p in self.logs.glob("*.log")) >= expected

    def ensure_alive(self) -> None:
        for proc in self.procs:
            if proc.returncode is None and proc.poll() is not None:
                pytest.fail(f"worker process {proc.pid} exited with {proc.returncode}\n{self.log_tail()}")

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # also ends a stopped (SIGSTOP) process
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            self.kill(proc)


@pytest.fixture
def workers(empty_db_url: str, config_file: Path, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(empty_db_url, config_file, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def wait_for(condition: Callable[[], bool], what: str, workers: Workers, timeout: float = WAIT_SECONDS) -> None:
    """Poll ``condition`` until it holds; fail with the workers' logs after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        workers.ensure_alive()
        time.sleep(0.01)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{workers.log_tail()}")


def all_work_finished(engine: Engine) -> bool:
    """Nothing pending or in flight. Checked along the chain inbox → timers → outbox, so that work created
    by a row after its table was checked cannot exist (its parent would have been seen pending). The packaged
    sequences also run: their later steps (a review email on day 2, a seasonal offer at day 30) stay pending,
    not due."""
    due = or_(timers.c.status == "processing", timers.c.due_at <= datetime.now(UTC))
    return (
        count(engine, inbox, inbox.c.status.in_(("pending", "processing"))) == 0
        and count(engine, timers, timers.c.status.in_(("pending", "processing")), due) == 0
        and count(engine, outbox, outbox.c.status.in_(("pending", "sending"))) == 0
    )


def assert_everything_exactly_once(engine: Engine, total: int) -> None:
    with engine.connect() as conn:
        inbox_statuses: dict[str, int] = dict(
            conn.execute(select(inbox.c.status, func.count()).group_by(inbox.c.status)).all()
        )
        activity_kinds: dict[str, int] = dict(
            conn.execute(select(activities.c.kind, func.count()).group_by(activities.c.kind)).all()
        )
        job_statuses: dict[str, int] = dict(
            conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)).all()
        )
        review = conn.execute(
            select(messages.c.id, messages.c.job_id, messages.c.status).where(messages.c.purpose == "review_request")
        ).all()
        texts = conn.execute(select(dev_sms_sent.c.idempotency_key)).scalars().all()
        # The playbook's confirmation text is planned at booking; most fall due after the job moved on and are
        # cancelled, some go out: every text that went out is counted below, whatever its purpose.
        delivered = conn.execute(select(messages.c.id).where(messages.c.status == "delivered")).scalars().all()
        outbox_statuses: dict[str, int] = dict(
            conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
        )

    assert inbox_statuses == {"done": total}
    # One timeline entry per delivery: an inbox row applied twice would add a second one.
    for event in ("job.booked", "job.completed", "job.paid"):
        assert activity_kinds.get(event) == JOBS, f"{event}: {activity_kinds}"
    assert activity_kinds.get("customer.created") == JOBS
    assert activity_kinds.get("message.sent") == len(delivered)
    assert count(engine, customers) == JOBS
    assert job_statuses == {"paid": JOBS}
    assert len(review) == JOBS
    assert len({m.job_id for m in review}) == JOBS, "a job got two review requests"
    assert {m.status for m in review} == {"delivered"}
    assert outbox_statuses == {"sent": len(delivered)}
    assert len(texts) == len(delivered), f"{len(texts)} texts went out for {len(delivered)} messages"
    assert sorted(texts) == sorted(f"sms:{m}" for m in delivered), "a text went out twice or not at all"
    assert {f"sms:{m.id}" for m in review} <= set(texts), "a review request did not go out"


def in_flight_by(engine: Engine, worker_id: str) -> int:
    """Inbox rows processing and outbox rows sending under ``worker_id``'s lease."""
    return count(engine, inbox, inbox.c.status == "processing", inbox.c.locked_by == worker_id) + count(
        engine, outbox, outbox.c.status == "sending", outbox.c.locked_by == worker_id
    )


def test_killed_workers_lose_nothing_and_send_nothing_twice(
    empty_db_url: str, config_file: Path, secrets_env: None, reader: Engine, workers: Workers
) -> None:
    """Two workers in turn are SIGKILLed while holding leased rows; a third finishes the backlog."""
    total = fill_backlog(empty_db_url, config_file)
    done = inbox.c.status == "done"

    for name, progress in (("worker-1", total // 5), ("worker-2", total // 2)):
        victim = workers.start(name)

        def holds_leased_rows(name: str = name, progress: int = progress) -> bool:
            holding = count(reader, inbox, done) >= progress and in_flight_by(reader, name) > 0
            return holding or all_work_finished(reader)

        wait_for(holds_leased_rows, f"{name} to hold leased rows after {progress} inbox rows are done", workers)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        assert in_flight_by(reader, name) > 0, f"{name} finished everything before it could be killed mid-work"
        assert count(reader, inbox, done) < total

    workers.start("worker-3")
    wait_for(lambda: all_work_finished(reader), "the last worker to finish the backlog", workers)
    workers.stop_all()

    assert_everything_exactly_once(reader, total)


@pytest.mark.parametrize("empty_db_url", ["postgres"], indirect=True)
def test_two_workers_racing_on_one_backlog_apply_and_send_everything_once(
    empty_db_url: str, config_file: Path, secrets_env: None, reader: Engine, workers: Workers
) -> None:
    """Both workers are up and paused while the backlog is filled, then released together, so that they claim
    neighbouring batches at the same moment and apply different events of the same new jobs concurrently."""
    build_runtime(empty_db_url, config_path=config_file, clock=RealClock()).engine.dispose()  # migrate first
    racers = [workers.start("racer-1"), workers.start("racer-2")]
    wait_for(lambda: workers.started(len(racers)), "both workers to start", workers)
    for proc in racers:
        os.kill(proc.pid, signal.SIGSTOP)
    try:
        total = fill_backlog(empty_db_url, config_file, waves=True)
    finally:
        for proc in racers:
            os.kill(proc.pid, signal.SIGCONT)
    wait_for(lambda: all_work_finished(reader), "two workers to finish the backlog", workers)
    workers.stop_all()

    assert_everything_exactly_once(reader, total)
