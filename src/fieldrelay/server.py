"""The HTTP server ``fieldrelay serve`` runs: the API app (api/app.py) with the office app (web/) mounted on it.

It sits one layer above api/ and web/, which are siblings and may not import each other.
"""

from __future__ import annotations

from fastapi import FastAPI

from fieldrelay.api.app import create_app
from fieldrelay.runtime import Runtime
from fieldrelay.web.router import mount


def build_app(runtime: Runtime, run_worker: bool = False) -> FastAPI:
    """The API (webhooks, /api, health) and the office app at ``/``; worker threads as ``create_app`` runs them."""
    app = create_app(runtime, run_worker=run_worker)
    mount(app)
    return app
