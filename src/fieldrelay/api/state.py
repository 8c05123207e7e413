"""What the app keeps for its routes: the runtime it was created with."""

from __future__ import annotations

from fastapi import Request

from fieldrelay.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    """The runtime of the app serving this request."""
    runtime: Runtime = request.app.state.runtime
    return runtime
