"""The FastAPI application: webhooks, JSON API, health; a worker thread when asked to run one."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fieldrelay import __version__
from fieldrelay.api import clock, routes, webhooks
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.intake_writer import IntakeWriter
from fieldrelay.runtime import Runtime


def create_app(runtime: Runtime, run_worker: bool = False) -> FastAPI:
    """Build the app; with ``run_worker`` a worker thread runs for the app's lifetime."""
    worker = runtime.new_worker() if run_worker else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if worker is not None:
            thread = threading.Thread(target=worker.run_forever, args=(stop,), name="fieldrelay-worker", daemon=True)
            thread.start()
        try:
            yield
        finally:
            app.state.intake.close()
            stop.set()
            if worker is not None:
                worker.wake.set()
            if thread is not None:
                thread.join(timeout=30)
            runtime.engine.dispose()

    app = FastAPI(title="fieldrelay", version=__version__, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.intake_dispatch = webhooks.LoopDispatch()
    # Deliveries are stored by one writer thread in group commits; each commit wakes this process's worker, and
    # a group's acknowledgements are handed to the event loop in one go.
    app.state.intake = IntakeWriter(
        runtime.engine,
        on_stored=worker.wake.set if worker is not None else None,
        dispatch=app.state.intake_dispatch,
    )
    if worker is not None:
        worker.intake_busy = app.state.intake.busy
    app.state.limiters = {}  # connector name -> SlidingWindowLimiter, made on first use (see api/webhooks.py)
    app.router.routes.append(webhooks.route)
    app.include_router(routes.router)
    if isinstance(runtime.clock, SimulatedClock):
        app.state.drain_worker = runtime.new_worker()
        app.include_router(clock.router)
    return app
