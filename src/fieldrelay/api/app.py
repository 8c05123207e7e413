"""The FastAPI application: webhooks, JSON API, health; a worker thread when asked to run one."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fieldrelay import __version__
from fieldrelay.api import clock, routes, webhooks
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime


def create_app(runtime: Runtime, run_worker: bool = False) -> FastAPI:
    """Build the app; with ``run_worker`` a worker thread runs for the app's lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = None
        if run_worker:
            worker = runtime.new_worker()
            thread = threading.Thread(target=worker.run_forever, args=(stop,), name="fieldrelay-worker", daemon=True)
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=30)
            runtime.engine.dispose()

    app = FastAPI(title="fieldrelay", version=__version__, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.limiters = {}  # connector name -> SlidingWindowLimiter, made on first use (see api/webhooks.py)
    app.include_router(webhooks.router)
    app.include_router(routes.router)
    if isinstance(runtime.clock, SimulatedClock):
        app.state.drain_worker = runtime.new_worker()
        app.include_router(clock.router)
    return app
