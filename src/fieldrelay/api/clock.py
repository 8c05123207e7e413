"""POST /api/clock/advance: only mounted when the service runs on a simulated clock (demo and tests)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from fieldrelay.api.auth import require_token
from fieldrelay.api.state import runtime_of
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.worker import Worker

router = APIRouter()


class Advance(BaseModel):
    """How far to move the clock."""

    seconds: float = Field(ge=0, le=366 * 86400)


@router.post("/api/clock/advance", tags=["clock"])
async def advance(body: Advance, request: Request, _account: str = Depends(require_token)) -> dict[str, Any]:
    """Move the simulated clock, then return once everything due has run."""
    runtime = runtime_of(request)
    clock = runtime.clock
    assert isinstance(clock, SimulatedClock)  # the route is only mounted on a simulated clock
    worker = request.app.state.drain_worker
    drained = await run_in_threadpool(_advance, clock, worker, clock.now() + timedelta(seconds=body.seconds))
    return {"now": clock.now().isoformat().replace("+00:00", "Z"), "drained": drained}


def _advance(clock: SimulatedClock, worker: Worker, target: datetime) -> bool:
    """Step through every moment work falls due before ``target``, so timers fire at their minute, not late."""
    drained = worker.drain()
    while drained:
        moment = worker.next_due(target)
        clock.advance_to(moment or target)
        drained = worker.drain()
        if moment is None:
            break
    return drained
