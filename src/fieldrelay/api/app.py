"""The FastAPI application: webhooks, JSON API, health; a worker thread when asked to run one."""

from __future__ import annotations

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
from fieldrelay.runtime import Runtime
from fieldrelay.storage.db import is_sqlite


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
    """Build the app; with ``run_worker`` worker threads run for the app's lifetime (see ``worker_threads``)."""
    workers = [runtime.new_worker() for _ in range(worker_threads(runtime))] if run_worker else []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads = [
            threading.Thread(target=w.run_forever, args=(stop,), name=f"fieldrelay-worker-{n}", daemon=True)
            for n, w in enumerate(workers)
        ]
        for thread in threads:
            thread.start()
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
            runtime.engine.dispose()

    def wake_workers() -> None:
        for w in workers:
            w.wake.set()

    app = FastAPI(title="fieldrelay", version=__version__, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.intake_dispatch = webhooks.LoopDispatch()
    # Deliveries are stored by one writer thread in group commits; each commit wakes this process's worker, and
    # a group's acknowledgements are handed to the event loop in one go.
    app.state.intake = IntakeWriter(
        runtime.engine,
        on_stored=wake_workers if workers else None,
        dispatch=app.state.intake_dispatch,
    )
    for w in workers:
        w.intake_busy = app.state.intake.busy
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
