"""Wiring: the database, settings, clock, connectors and a worker, built once per process."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from fieldrelay.connectors.registry import EMAIL, SMS, crm_targets, inbound_connectors
from fieldrelay.engine.clock import RealClock
from fieldrelay.engine.logs import LogFormat, configure_logging
from fieldrelay.engine.worker import Wake, Worker
from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import load_settings
from fieldrelay.service import bus
from fieldrelay.service.clock import Clock
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.ports import InboundConnector
from fieldrelay.storage.db import make_engine, share_write_lock, upgrade
from fieldrelay.storage.dev_sink import SqlDevSink
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.write_turns import WORKER, SharedWriteLock


class ProviderNotConfigured(Exception):
    """A message provider or CRM target chosen in fieldrelay.yaml cannot start (its secret is missing from the
    environment)."""


@dataclass
class Runtime:
    """Everything a process needs, shared by the API and its worker."""

    engine: Engine
    settings: Settings
    clock: Clock
    inbound: dict[str, InboundConnector] = field(default_factory=dict)

    def new_worker(self, worker_id: str | None = None) -> Worker:
        """A worker bound to this runtime; ProviderNotConfigured when a message provider cannot start."""
        messaging = self.settings.messaging
        try:
            sms = SMS[messaging.sms_provider](self.dev_sink, self.clock, self.settings)
            email = EMAIL[messaging.email_provider](self.dev_sink, self.clock, self.settings)
            crm = crm_targets(self.settings, self.clock)
        except ValueError as exc:  # the senders refuse to start without their credentials, saying which
            raise ProviderNotConfigured(str(exc)) from exc
        # The daily timers and the configured team: idempotent, so every worker start may ask for them.
        with self.unit_of_work(self.settings.account_id) as ctx:
            bus.start(ctx)
        return Worker(self.engine, self.settings, self.clock, self.inbound, sms, worker_id, email=email, crm=crm)

    @property
    def dev_sink(self) -> SqlDevSink:
        """Where the development providers (devsms, devmail) keep what they "send": tables in this database."""
        return SqlDevSink(self.engine)

    @contextmanager
    def unit_of_work(self, account_id: str) -> Iterator[HandlerContext]:
        """One transaction on the mirror for a person's action (API, CLI): committed on success, else rolled back.

        What the action changed is settled on the bus before the commit, so its reactions land with it or not at all.
        """
        now = self.clock.now()
        with self.engine.begin() as conn:
            ctx = HandlerContext(store=SqlMirror(conn, account_id, now), now=now, settings=self.settings)
            yield ctx
            bus.settle(ctx)


def build_runtime(
    db_url: str | None = None,
    config_path: Path | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
    settings: Settings | None = None,
) -> Runtime:
    """Load settings, open the database (migrating it to the newest schema) and build the connectors."""
    settings = settings or load_settings(config_path)
    engine = make_engine(db_url, settings.database)
    if migrate:
        upgrade(engine)
    return Runtime(engine=engine, settings=settings, clock=clock or RealClock(), inbound=inbound_connectors(settings))


@dataclass(frozen=True)
class WorkerLink:
    """What `serve` shares with its worker process (``multiprocessing`` objects made by the same context)."""

    wake: Wake  # set by intake after each group commit
    stop: Wake  # set by `serve` when it shuts down
    write_lock: SharedWriteLock  # SQLite's write lock, taken in turns by both processes before each transaction
    log_level: str
    log_format: LogFormat
    parent_pid: int  # `serve`'s: once this process's parent is another, `serve` has died


def run_worker_process(db_url: str, settings: Settings, threads: int, link: WorkerLink) -> None:
    """The body of `serve`'s worker process: the runtime rebuilt from the URL and settings, ``threads`` workers
    until `serve` says stop or dies (a worker left behind by a killed `serve` must not go on alone)."""
    configure_logging(link.log_level, link.log_format)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; `serve` stops this process
    engine = make_engine(db_url)
    share_write_lock(engine, link.write_lock.side(WORKER))
    runtime = Runtime(engine=engine, settings=settings, clock=RealClock(), inbound=inbound_connectors(settings))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    workers = [runtime.new_worker() for _ in range(threads)]
    for worker in workers:
        # No sleeps to let intake in: the write lock's turns do that (storage/write_turns.py).
        worker.wake, worker.shares_interpreter = link.wake, False
    running = [threading.Thread(target=w.run_forever, args=(stop,), daemon=True) for w in workers]
    for thread in running:
        thread.start()
    while not stop.is_set():
        if link.stop.wait(0.5) or os.getppid() != link.parent_pid:
            stop.set()
    link.wake.set()
    for thread in running:
        thread.join(timeout=30)
    engine.dispose()
