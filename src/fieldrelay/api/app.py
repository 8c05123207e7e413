"""The FastAPI application: webhooks, JSON API, health; a worker (its own process, or threads) when asked to run one."""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.process
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fieldrelay import __version__
from fieldrelay.api import (
    clock,
    gauges,
    handoff_routes,
    identity_routes,
    referral_routes,
    routes,
    sequence_routes,
    task_routes,
    unsubscribe,
    webhooks,
)
from fieldrelay.api.hardening import BodyDeadline, SecurityHeaders
from fieldrelay.api.refusals import RefusalLog
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.intake_writer import IntakeWriter
from fieldrelay.engine.logs import chosen_format
from fieldrelay.runtime import Runtime, WorkerLink, run_worker_process
from fieldrelay.storage.db import is_sqlite, share_write_lock
from fieldrelay.storage.write_turns import API, SharedWriteLock


def worker_threads(runtime: Runtime) -> int:
    """Worker threads in ``serve``: as configured, else 1 on SQLite (one writer at a time anyway) and 4 on PostgreSQL.

    On PostgreSQL a worker mostly waits for round trips to the server, so threads sharing the interpreter add
    throughput; several `fieldrelay worker` processes add more (see docs/production.md).
    """
    configured = runtime.settings.worker.threads
    if configured is not None:
        return configured
    return 1 if is_sqlite(runtime.engine) else 4


def create_app(runtime: Runtime, run_worker: bool = False) -> FastAPI:
    """Build the app; with ``run_worker`` a worker runs for the app's lifetime: in a process of its own on the real
    clock (unless the configuration says otherwise), else in threads of this one (see ``worker_threads``).

    Why a process: a worker thread held the interpreter most of the time while it applied events, and intake
    acknowledged a fraction of what it could (both ways measured with bench/ingest.py: docs/production.md).
    The two processes share SQLite's write lock, and the worker commits every ``write_budget_ms``, so intake waits
    at most that long for the database.
    """
    separate = run_worker and runtime.settings.worker.separate_process and not isinstance(runtime.clock, SimulatedClock)
    if separate:
        runtime.new_worker()  # fails here, saying which secret is missing, rather than in the worker process
    workers = [runtime.new_worker() for _ in range(worker_threads(runtime))] if run_worker and not separate else []
    link = _worker_link(runtime) if separate else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads = [
            threading.Thread(target=w.run_forever, args=(stop,), name=f"fieldrelay-worker-{n}", daemon=True)
            for n, w in enumerate(workers)
        ]
        for thread in threads:
            thread.start()
        process = _start_worker_process(runtime, link) if link is not None else None
        try:
            yield
        finally:
            app.state.refusals.flush()
            app.state.intake.close()
            stop.set()
            for w in workers:
                w.wake.set()
            for thread in threads:
                thread.join(timeout=30)
            if process is not None and link is not None:
                link.stop.set()
                link.wake.set()
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()
            runtime.engine.dispose()

    def wake_workers() -> None:
        for w in workers:
            w.wake.set()
        if link is not None:
            link.wake.set()

    app = FastAPI(title="fieldrelay", version=__version__, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.intake_dispatch = webhooks.LoopDispatch()
    # Deliveries are stored by one writer thread in group commits; each commit wakes this process's worker, and
    # a group's acknowledgements are handed to the event loop in one go.
    app.state.intake = IntakeWriter(
        runtime.engine,
        on_stored=wake_workers if run_worker else None,
        dispatch=app.state.intake_dispatch,
    )
    for w in workers:
        w.intake_busy = app.state.intake.busy
    if link is not None:
        share_write_lock(runtime.engine, link.write_lock.side(API))
    # The gauges read this runtime's database, so each app has its own registry beside the process's counters.
    app.state.metrics_registry = gauges.app_registry(runtime)
    app.state.limiters = {}  # connector name -> SlidingWindowLimiter, made on first use (see api/webhooks.py)
    app.state.refusals = RefusalLog()
    # Outermost last: every response, the office app's included, carries the security headers.
    app.add_middleware(BodyDeadline, seconds=runtime.settings.server.body_timeout_seconds)
    app.add_middleware(SecurityHeaders)
    app.router.routes.append(webhooks.route)
    app.include_router(routes.router)
    app.include_router(identity_routes.router)
    app.include_router(sequence_routes.router)
    app.include_router(referral_routes.router)
    app.include_router(handoff_routes.router)
    app.include_router(task_routes.router)
    app.include_router(unsubscribe.router)
    if isinstance(runtime.clock, SimulatedClock):
        app.state.drain_worker = runtime.new_worker()
        app.include_router(clock.router)
    return app


_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or open connections inherited


def _worker_link(runtime: Runtime) -> WorkerLink:
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    return WorkerLink(
        wake=_SPAWN.Event(),
        stop=_SPAWN.Event(),
        write_lock=SharedWriteLock(_SPAWN),
        log_level=level,
        log_format=chosen_format(),
        parent_pid=os.getpid(),
    )


def _start_worker_process(runtime: Runtime, link: WorkerLink) -> multiprocessing.process.BaseProcess:
    url = runtime.engine.url.render_as_string(hide_password=False)
    args = (url, runtime.settings, worker_threads(runtime), link)
    process = _SPAWN.Process(target=run_worker_process, args=args, name="fieldrelay-worker", daemon=True)
    process.start()
    return process
