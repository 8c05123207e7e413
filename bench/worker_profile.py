"""Worker CPU per event, in process: preload N customers, store the bench's job traffic in the inbox, drain it.

Prints the worker's CPU ms per event for new customers (``customer.created``), for the job stream (booked,
completed, paid; one booking in five for a returning customer) and for job events of known customers only, and with
``--profile`` the top functions of a cProfile of the job stream's drain. Figures only, never asserted.

    .venv/bin/python bench/worker_profile.py [--preload 1000] [--jobs 1500] [--db URL] [--profile] [--statements]
        [--plans]

``--statements`` counts the job stream's SQL statements per event; ``--plans`` prints, on SQLite, each of them whose
plan scans a table or searches it by the account alone (a cost that grows with the shop).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

import traffic
from fieldrelay.connectors.housecallpro.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, compute_signature
from fieldrelay.engine.intake import prepare, store
from fieldrelay.engine.worker import Worker
from fieldrelay.rules.loader import DEFAULT_YAML
from fieldrelay.runtime import Runtime, build_runtime
from preload import preload


def _store(runtime: Runtime, bodies: list[bytes], secret: str) -> None:
    connector = runtime.inbound["housecallpro"]
    now = runtime.clock.now()
    stamp = str(int(now.timestamp()))
    with runtime.engine.begin() as conn:
        for body in bodies:
            headers = {
                TIMESTAMP_HEADER.lower(): stamp,
                SIGNATURE_HEADER.lower(): compute_signature(secret, stamp, body),
            }
            store(conn, prepare(connector, headers, body, now, runtime.settings.account_id))


def _drain(worker: Worker, count: int, profiler: cProfile.Profile | None = None) -> float:
    """CPU ms per event of draining what was stored (this thread only)."""
    cpu0 = time.thread_time()
    if profiler is not None:
        profiler.enable()
    worker.drain(timeout_seconds=3_600)
    if profiler is not None:
        profiler.disable()
    return (time.thread_time() - cpu0) * 1000 / max(count, 1)


def _weak_plans(runtime: Runtime, samples: dict[str, Any]) -> None:
    """Statements whose SQLite plan scans a table or searches it by the account alone."""
    raw = runtime.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for sql, params in samples.items():
            if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
                continue
            plan = [row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + sql, params)]
            weak = [p for p in plan if p.startswith("SCAN ") or p.endswith("(account_id=?)")]
            if weak:
                print(" ".join(sql.split())[:220], "\n    ", weak)
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preload", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=1500, help="events in the job stream (default 1500)")
    parser.add_argument("--new", type=int, default=500, help="customer.created events measured (default 500)")
    parser.add_argument("--db", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--profile", action="store_true", help="cProfile the job stream's drain")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--dump", type=Path, help="write the cProfile statistics to this file (pstats format)")
    parser.add_argument("--budget-ms", type=float, help="the worker's write budget (default: the settings')")
    parser.add_argument("--statements", action="store_true", help="count the SQL statements of the job stream")
    parser.add_argument("--plans", action="store_true", help="SQLite: print each job-stream statement's weak plans")
    args = parser.parse_args()
    secret = secrets.token_hex(16)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.db or f"sqlite:///{Path(tmp) / 'profile.db'}"
        os.environ["FIELDRELAY_HOUSECALLPRO_SECRET"] = secret
        preload(db_url, None, args.preload, secret, progress=False)
        runtime = build_runtime(db_url, DEFAULT_YAML)
        if args.budget_ms is not None:
            worker_settings = runtime.settings.worker.model_copy(update={"write_budget_ms": args.budget_ms})
            runtime.settings = runtime.settings.model_copy(update={"worker": worker_settings})
        worker = runtime.new_worker("profile")
        base = datetime.now(UTC) - timedelta(minutes=10)
        first_new = args.preload
        # Job events of customers already in the mirror (returning customers), then new customers, then the mix.
        known = [(f"job_k{j}", traffic.Homeowner((j * 7) % args.preload)) for j in range(args.jobs // 3)]
        _store(runtime, [b for _, b in traffic.job_stream(known, base)], secret)
        returning = _drain(worker, len(known) * 3)
        fresh = [traffic.customer_created(traffic.Homeowner(first_new + i), base) for i in range(args.new)]
        first_new += args.new
        _store(runtime, fresh, secret)
        new = _drain(worker, len(fresh))
        work = traffic.jobs(args.jobs // 3, first_new, "p")
        bodies = [b for _, b in traffic.job_stream(work, base)]
        _store(runtime, bodies, secret)
        profiler = cProfile.Profile() if args.profile else None
        counts: Counter[str] = Counter()
        samples: dict[str, Any] = {}

        def seen(_conn: Any, _cursor: Any, sql: str, params: Any, *_: Any) -> None:
            counts.update([" ".join(sql.split())])
            samples.setdefault(sql, params)

        if args.statements or args.plans:
            event.listen(runtime.engine, "before_cursor_execute", seen)
        mixed = _drain(worker, len(bodies), profiler)
        for sql, n in counts.most_common(args.top):
            print(f"{n / len(bodies):6.2f}/event  {sql[:200]}")
        print(f"{sum(counts.values()) / max(len(bodies), 1):.1f} statements per event")
        if args.plans:
            _weak_plans(runtime, samples)
        print(f"worker CPU ms/event: returning-customer jobs {returning:.2f}, new customer {new:.2f}, mix {mixed:.2f}")
        runtime.engine.dispose()
        if profiler is not None:
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats("fieldrelay", args.top)
            if args.dump:
                stats.dump_stats(args.dump)


if __name__ == "__main__":
    main()
