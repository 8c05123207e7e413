"""Fill the mirror before the bench's traffic: N ``customer.created`` deliveries through the service's own path.

Each delivery is signed, verified and prepared by the Housecall Pro connector and stored in the inbox as the webhook
route stores it (``engine.intake.prepare`` / ``store``); a worker in this process then applies them as
``fieldrelay worker`` does: parse, identity matching, enrichment, mirror writes. Nothing is inserted behind the
service's back, so the mirror holds what N real customers would leave in it. Only the HTTP hop is skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fieldrelay.connectors.housecallpro.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, compute_signature
from fieldrelay.engine.intake import prepare, store
from fieldrelay.engine.logs import configure_logging
from fieldrelay.rules.loader import DEFAULT_YAML
from fieldrelay.runtime import build_runtime
from traffic import Homeowner, customer_created

_CHUNK = 2_000  # deliveries stored per transaction, then applied, so the worker's figures can be read per chunk


@dataclass
class Preloaded:
    """What the preload did and what the worker spent on it (CPU of the applying thread)."""

    customers: int
    wall_s: float
    cpu_ms_first: float  # per event, first chunk (mirror nearly empty)
    cpu_ms_last: float  # per event, last chunk (mirror nearly full)


def preload(db_url: str, config: Path | None, count: int, secret: str, progress: bool = True) -> Preloaded:
    """Store and apply ``count`` new customers; the worker's CPU per event on the first and the last chunk."""
    configure_logging("WARNING")  # as the bench's `serve --log-level WARNING`
    runtime = build_runtime(db_url, config or DEFAULT_YAML)  # what `serve --demo` loads in the bench's temp dir
    try:
        connector = runtime.inbound["housecallpro"]
        worker = runtime.new_worker("bench-preload")
        base = datetime.now(UTC) - timedelta(days=30)
        started = time.monotonic()
        per_chunk: list[float] = []
        for start in range(0, count, _CHUNK):
            end = min(start + _CHUNK, count)
            now = runtime.clock.now()
            stamp = str(int(now.timestamp()))
            with runtime.engine.begin() as conn:
                for i in range(start, end):
                    body = customer_created(Homeowner(i), base + timedelta(seconds=i))
                    headers = {
                        TIMESTAMP_HEADER.lower(): stamp,
                        SIGNATURE_HEADER.lower(): compute_signature(secret, stamp, body),
                    }
                    store(conn, prepare(connector, headers, body, now, runtime.settings.account_id))
            cpu0 = time.thread_time()
            worker.drain(timeout_seconds=3_600)
            per_chunk.append((time.thread_time() - cpu0) * 1000 / (end - start))
            if progress:
                print(f"  preload {end:,}/{count:,} customers, worker {per_chunk[-1]:.2f} ms CPU/event", flush=True)
        nan = float("nan")
        first, last = (per_chunk[0], per_chunk[-1]) if per_chunk else (nan, nan)
        return Preloaded(count, time.monotonic() - started, first, last)
    finally:
        runtime.engine.dispose()
