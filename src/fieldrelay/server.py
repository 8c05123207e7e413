"""The HTTP server ``fieldrelay serve`` runs: the API app (api/app.py) with the office app (web/) mounted on it,
and the bounds uvicorn serves it with.

It sits one layer above api/ and web/, which are siblings and may not import each other.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from fieldrelay.api.app import create_app
from fieldrelay.rules.limits import ServerLimits
from fieldrelay.runtime import Runtime
from fieldrelay.web.router import mount


def build_app(runtime: Runtime, run_worker: bool = False) -> FastAPI:
    """The API (webhooks, /api, health) and the office app at ``/``; worker threads as ``create_app`` runs them."""
    app = create_app(runtime, run_worker=run_worker)
    mount(app)
    return app


def uvicorn_options(limits: ServerLimits) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.run`` that bound what one client can hold (docs/production.md)."""
    return {
        "limit_concurrency": limits.limit_concurrency,
        "timeout_keep_alive": limits.keep_alive_seconds,
        "server_header": False,  # no "server: uvicorn" banner
        "http": _with_header_deadline(limits.header_timeout_seconds),
    }


def _with_header_deadline(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (httptools, else h11) closing a connection that has not sent a request's headers
    within ``seconds`` of opening or of its last response: uvicorn has no header timeout of its own, so a client
    sending a header a minute (slowloris) would hold a connection slot indefinitely."""
    base: Any = AutoHTTPProtocol

    class HeaderDeadlineProtocol(base):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm_header_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_header_deadline()

        def _arm_header_deadline(self) -> None:
            waiting_after = self.cycle  # None on a new connection, else the request just answered
            self.loop.call_later(seconds, self._header_deadline, waiting_after)

        def _header_deadline(self, waiting_after: object) -> None:
            if self.transport.is_closing():
                return
            no_new_request = self.cycle is waiting_after
            if no_new_request and (self.cycle is None or self.cycle.response_complete):
                self.transport.close()

    return HeaderDeadlineProtocol
