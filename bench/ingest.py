"""Ingest benchmark: signed Housecall Pro webhooks against the real ``fieldrelay serve`` process.

Prints figures; never asserts a timing. Each phase starts its own server on a fresh temporary SQLite file
(or the PostgreSQL URL given with ``--db``), sends pre-built, pre-signed deliveries over loopback and watches
the database read-only until every accepted delivery has been applied. See bench/README.md.

    .venv/bin/python bench/ingest.py [--requests 5000] [--concurrency 32] [--rate 200] [--runs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h11
import httpx
import psutil
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, case, create_engine, func, select
from sqlalchemy.engine import make_url

import traffic
from fieldrelay.connectors.housecallpro.inbound import HousecallProInbound
from fieldrelay.connectors.housecallpro.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, compute_signature
from fieldrelay.storage.tables import inbox, timers
from preload import preload

WEBHOOK_PATH = "/webhooks/housecallpro"
IN_FLIGHT = ("pending", "processing")

# Targets for a 2-core machine on SQLite (printed next to the measured medians, never asserted).
TARGET_ACK_RATIO = 0.7  # of the baseline app's acknowledgements, while the worker processes
TARGET_ACK_P99_MS = 50.0
TARGET_PROCESSED_PER_S = 500.0
TARGET_P99_MS = 1000.0
TARGET_RSS_MB = 150.0

# Wide enough for the table when the output goes to a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 130)


# --- deliveries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One pre-built, pre-signed webhook and the inbox dedupe key the service will store it under."""

    body: bytes
    headers: dict[str, str]
    key: str
    event: str


def _signed(body: bytes, secret: str, stamp: str, identify: Any, event: str) -> Delivery:
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: compute_signature(secret, stamp, body),
    }
    return Delivery(body, headers, identify(body).dedupe_key, event)


def build_deliveries(count: int, secret: str, tag: str, first_new: int, seed: int = 17) -> tuple[list[Delivery], int]:
    """``count`` deliveries of realistic traffic (bench/traffic.py): jobs booked, completed and paid, one booking in
        five for a customer seen before, new customers numbered from ``first_new`` (after the preloaded ones); returns
    them and the number the next phase's new customers start from.

        Signed with Api-Timestamp = now; the events happened minutes ago, so each review-request timer is due 30 minutes
        after its payment and none fires during the benchmark.
    """
    identify = HousecallProInbound(secret).identify
    work = traffic.jobs(math.ceil(count / 3), first_new, tag, seed)
    base = datetime.now(UTC) - timedelta(minutes=10)
    stamp = str(int(time.time()))
    out = [_signed(body, secret, stamp, identify, event) for event, body in traffic.job_stream(work, base)][:count]
    return out, max([first_new - 1, *(owner.index for _, owner in work)]) + 1


# --- the service under test ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``fieldrelay serve`` subprocess."""

    proc: subprocess.Popen[bytes]
    base_url: str
    secret: str
    log_path: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)  # extra `fieldrelay worker` processes

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the service wrote to stderr."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def serve(
    db_url: str, workdir: Path, config: Path | None, secret: str, extra_workers: int = 0, startup_timeout: float = 180.0
) -> Iterator[Server]:
    """Start the service (and ``extra_workers`` `fieldrelay worker` processes), wait for /healthz, yield it; always
    stop them (SIGINT, then SIGKILL)."""
    env = {**os.environ, "FIELDRELAY_HOUSECALLPRO_SECRET": secret, "FIELDRELAY_API_TOKEN": secrets.token_hex(32)}
    port = _free_port()
    cmd = [sys.executable, "-m", "fieldrelay", "serve", "--demo", "--db", db_url, "--port", str(port)]
    cmd += ["--log-level", "WARNING"]
    worker_cmd = [sys.executable, "-m", "fieldrelay", "worker", "--demo", "--db", db_url, "--log-level", "WARNING"]
    if config is not None:
        cmd += ["--config", str(config.resolve())]
        worker_cmd += ["--config", str(config.resolve())]
    with _started(cmd, workdir, env, port, "server.log", startup_timeout) as server:
        workers: list[subprocess.Popen[bytes]] = []
        try:
            for n in range(extra_workers):
                with (workdir / f"worker-{n}.log").open("wb") as log:
                    workers.append(subprocess.Popen(worker_cmd, cwd=workdir, env=env, stdout=log, stderr=log))
            server.workers = workers
            yield server
        finally:
            for proc in workers:
                _stop(proc)


@contextmanager
def baseline_app(workdir: Path, secret: str) -> Iterator[Server]:
    """The minimal FastAPI + SQLite webhook app (bench/baseline.py) on a database of its own."""
    env = {**os.environ, "FIELDRELAY_HOUSECALLPRO_SECRET": secret}
    port = _free_port()
    script = Path(__file__).with_name("baseline.py")
    cmd = [sys.executable, str(script), "--db", str(workdir / "baseline.db"), "--port", str(port)]
    with _started(cmd, workdir, env, port, "baseline.log", 180.0) as server:
        yield server


@contextmanager
def _started(
    cmd: list[str], workdir: Path, env: dict[str, str], port: int, log_name: str, startup_timeout: float
) -> Iterator[Server]:
    log_path = workdir / log_name
    with log_path.open("wb") as log:
        # cwd is the temporary directory, so without --config the packaged demo configuration is used (hence --demo).
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", env["FIELDRELAY_HOUSECALLPRO_SECRET"], log_path)
    try:
        deadline = time.monotonic() + startup_timeout
        with httpx.Client(base_url=server.base_url, timeout=2.0) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{cmd[2]} exited with {proc.returncode}:\n{server.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{cmd[2]} did not answer /healthz in {startup_timeout:.0f} s")
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        yield server
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class ResourceSampler(threading.Thread):
    """Samples the service's RSS (children and extra workers included) every ``interval`` seconds, keeping the
    peak, and every fifth sample the CPU time of its worker (see ``worker_cpu``)."""

    def __init__(self, pid: int, extra: Sequence[int] = (), interval: float = 0.05) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self._proc = psutil.Process(pid)
        self._extra = [psutil.Process(p) for p in extra]
        self._interval = interval
        self._stop_event = threading.Event()
        self.peak_bytes = 0
        self.peak_by_role: Counter[str] = Counter()  # each process's own peak RSS, by what it is (see process_role)
        # (wall clock, {("t", tid) of the service's own threads | ("p", pid) of a worker process: CPU seconds})
        self.cpu_samples: list[tuple[float, dict[tuple[str, int], float]]] = []

    def _procs(self) -> list[psutil.Process]:
        procs = [self._proc]
        with suppress(psutil.Error):
            procs += self._proc.children(recursive=True)
        return procs + self._extra

    def _sample(self) -> None:
        total = 0
        for proc in self._procs():
            with suppress(psutil.Error):
                rss = int(proc.memory_info().rss)
                total += rss
                role = self.process_role(proc)
                self.peak_by_role[role] = max(self.peak_by_role[role], rss)
        self.peak_bytes = max(self.peak_bytes, total)

    def process_role(self, proc: psutil.Process) -> str:
        """What a process of the service is: the API (`serve` itself), a worker, or multiprocessing's helper."""
        if proc.pid == self._proc.pid:
            return "api"
        with suppress(psutil.Error):
            cmdline = " ".join(proc.cmdline())
            if "resource_tracker" in cmdline or "forkserver" in cmdline:
                return "mp_helper"
        return "worker"

    def api_cpu_seconds(self) -> float:
        """User + system CPU time of the `serve` process itself (the API, without its children)."""
        with suppress(psutil.Error):
            times = self._proc.cpu_times()
            return float(times.user + times.system)
        return math.nan

    def _sample_cpu(self) -> None:
        cpu: dict[tuple[str, int], float] = {}
        with suppress(psutil.Error):
            for thread in self._proc.threads():
                cpu[("t", thread.id)] = thread.user_time + thread.system_time
        for proc in self._procs()[1:]:
            with suppress(psutil.Error):
                times = proc.cpu_times()
                cpu[("p", proc.pid)] = times.user + times.system
        self.cpu_samples.append((time.time(), cpu))

    def cpu_seconds(self) -> float:
        """User + system CPU time of the service and its workers so far."""
        total = 0.0
        for proc in self._procs():
            with suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def worker_cpu(self, since: float) -> Callable[[float], float]:
        """CPU seconds of the worker at a moment, from the samples taken after ``since``.

        The worker is every worker process (a child of `serve` or an extra `fieldrelay worker`) when there is one,
        else the thread of `serve` that spent the most CPU after ``since``: the worker thread of a `serve` that
        runs its worker in-process (it drains the backlog alone once the sends end).
        """
        samples = [(t, c) for t, c in self.cpu_samples if t >= since]
        if not samples:
            return lambda _: math.nan
        first, last = samples[0][1], samples[-1][1]
        processes = [k for k in last if k[0] == "p"]
        keys = processes or [max(last, key=lambda k: last[k] - first.get(k, 0.0))]

        def at(moment: float) -> float:
            chosen = min(samples, key=lambda s: abs(s[0] - moment))[1]
            return sum(chosen.get(k, 0.0) for k in keys)

        return at

    def run(self) -> None:
        n = 0
        while not self._stop_event.is_set():
            self._sample()
            if n % 5 == 0:
                self._sample_cpu()
            n += 1
            self._stop_event.wait(self._interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


# --- watching the database -----------------------------------------------------------------------


def read_only_engine(db_url: str) -> Engine:
    """An engine that only reads: SQLite opened with mode=ro (WAL readers never block the service)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "").resolve()
        return create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=30),
        )
    return create_engine(url, pool_size=2)


def max_inbox_id(engine: Engine) -> int:
    """The highest inbox id now (0 when empty)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(inbox.c.id))).scalar() or 0)


class InboxPoller(threading.Thread):
    """Polls the inbox every ``interval`` s and notes when each watched delivery is first seen finished.

    Two reads per poll: first the lowest id still pending/processing and the highest id, then the finished rows
    above the floor. Every row below that lowest id was already finished before the second read started, so the
    floor can move up to it without missing a row (SQLite hands out ids in commit order; see README for PG).
    """

    def __init__(self, engine: Engine, floor: int, keys: dict[str, int], interval: float) -> None:
        super().__init__(name="inbox-poller", daemon=True)
        self._engine = engine
        self._floor = floor
        self._keys = keys
        self._interval = interval
        self._stop_event = threading.Event()
        self.seen_at: dict[int, float] = {}
        self.statuses: Counter[str] = Counter()
        self.polls = 0
        self.errors = 0

    def poll(self) -> None:
        c = inbox.c
        with self._engine.connect() as conn:
            lowest, highest = conn.execute(
                select(func.min(case((c.status.in_(IN_FLIGHT), c.id))), func.max(c.id)).where(c.id > self._floor)
            ).one()
            rows = conn.execute(
                select(c.id, c.dedupe_key, c.status).where(c.id > self._floor, c.status.not_in(IN_FLIGHT))
            ).all()
        now = time.time()
        for row in rows:
            index = self._keys.get(row.dedupe_key)
            if index is not None and index not in self.seen_at:
                self.seen_at[index] = now
                self.statuses[row.status] += 1
        if lowest is not None:
            self._floor = int(lowest) - 1
        elif highest is not None:
            self._floor = int(highest)
        self.polls += 1

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.poll()
            except Exception:  # a busy or briefly locked database: try again next tick
                self.errors += 1
            self._stop_event.wait(self._interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)


@dataclass
class InboxRow:
    """The service's own timestamps of one delivery (wall clock of the service process)."""

    status: str
    received_at: datetime
    processed_at: datetime | None


def read_rows(engine: Engine, floor: int) -> dict[str, InboxRow]:
    """Every inbox row above ``floor`` by dedupe key."""
    c = inbox.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.dedupe_key, c.status, c.received_at, c.processed_at).where(c.id > floor)).all()
    return {r.dedupe_key: InboxRow(r.status, r.received_at, r.processed_at) for r in rows}


def max_timer_id(engine: Engine) -> int:
    """The highest timer id now (0 when none)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(timers.c.id))).scalar() or 0)


def count_review_timers(engine: Engine, floor: int) -> int:
    """Review-request timers written above ``floor`` (one per paid job, in the job.paid transaction)."""
    c = timers.c
    with engine.connect() as conn:
        query = select(func.count()).select_from(timers).where(c.id > floor, c.kind == "review_request")
        return int(conn.execute(query).scalar_one())


# --- load generator ------------------------------------------------------------------------------


@dataclass
class SendResult:
    """What the load generator saw."""

    started: float  # wall clock (time.time) of the first send
    finished: float  # wall clock of the last response
    latencies_ms: list[float] = field(default_factory=list)
    acked_at: dict[int, float] = field(default_factory=dict)  # delivery index → wall clock of its 2xx
    statuses: Counter[str] = field(default_factory=Counter)
    client_cpu_s: float = 0.0

    @property
    def wall(self) -> float:
        return max(self.finished - self.started, 1e-9)


class H11Poster:
    """One keep-alive HTTP/1.1 connection framed by h11 (a sans-I/O library) over asyncio streams.

    Why not httpx here: on a 2-core machine the load generator shares the CPU with the service. Measured with
    this bench's deliveries against the intake alone, a shared httpx.AsyncClient spent 2.4 ms of CPU per request
    (360 req/s in all), one httpx client per connection 0.8 ms, h11 on asyncio streams 0.13 ms (1,600 req/s).
    ``--client httpx`` keeps the httpx path for comparison.
    """

    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._conn = h11.Connection(h11.CLIENT)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """Send one request; return its status code (reconnects if the server closed the connection)."""
        if self._streams is None or self._conn.our_state is not h11.IDLE:
            await self.close()
            self._streams = await asyncio.open_connection(self._host, self._port)
            self._conn = h11.Connection(h11.CLIENT)
        reader, writer = self._streams
        conn = self._conn
        fields = [("Host", f"{self._host}:{self._port}"), ("Content-Length", str(len(body))), *headers.items()]
        writer.write(
            (conn.send(h11.Request(method="POST", target=path, headers=fields)) or b"")
            + (conn.send(h11.Data(data=body)) or b"")
            + (conn.send(h11.EndOfMessage()) or b"")
        )
        await writer.drain()
        status = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("server closed the connection mid-response")
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        return status

    async def close(self) -> None:
        """Close the connection if open."""
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()


class HttpxPoster:
    """One httpx.AsyncClient holding one connection (a client shared by all senders costs 3x the CPU)."""

    def __init__(self, base_url: str) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=1), timeout=60.0)

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        """Send one request; return its status code."""
        return (await self._client.post(path, content=body, headers=headers)).status_code

    async def close(self) -> None:
        """Close the client."""
        await self._client.aclose()


async def _send(
    base_url: str, deliveries: Sequence[Delivery], concurrency: int, rate: float | None, client: str = "h11"
) -> SendResult:
    """``concurrency`` senders, each on its own keep-alive connection, share the list of deliveries."""
    url = httpx.URL(base_url)
    result = SendResult(started=0.0, finished=0.0)
    next_index = 0
    cpu0 = time.process_time()
    t_start = time.perf_counter()
    result.started = time.time()

    async def sender() -> None:
        nonlocal next_index
        poster: H11Poster | HttpxPoster = (
            H11Poster(url.host, url.port or 80) if client == "h11" else HttpxPoster(base_url)
        )
        try:
            while next_index < len(deliveries):
                index = next_index
                next_index += 1
                t0 = time.perf_counter()
                if rate is not None:
                    # Latency counts from the scheduled send time, so a stalled server is not hidden by the
                    # sender waiting for its connection (no coordinated omission).
                    t0 = t_start + index / rate
                    delay = t0 - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                item = deliveries[index]
                try:
                    status = await asyncio.wait_for(poster.post(WEBHOOK_PATH, item.body, item.headers), 60.0)
                    code = str(status)
                except (OSError, TimeoutError, h11.ProtocolError, httpx.HTTPError) as exc:
                    code = type(exc).__name__
                    await poster.close()
                    poster = H11Poster(url.host, url.port or 80) if client == "h11" else HttpxPoster(base_url)
                done = time.perf_counter()
                result.statuses[code] += 1
                if code.startswith("2"):
                    result.acked_at[index] = time.time()
                    result.latencies_ms.append((done - t0) * 1000)
        finally:
            await poster.close()

    await asyncio.gather(*(sender() for _ in range(concurrency)))
    result.finished = time.time()
    result.client_cpu_s = time.process_time() - cpu0
    return result


# --- one phase -----------------------------------------------------------------------------------

Figures = dict[str, float]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def run_once(args: argparse.Namespace) -> dict[str, Figures]:
    """One run: a fresh database, the preload, the baseline app's burst, then fieldrelay's phases on one server."""
    with tempfile.TemporaryDirectory(prefix="fieldrelay-bench-", ignore_cleanup_errors=True) as tmp:
        workdir = Path(tmp)
        secret = secrets.token_hex(32)
        os.environ["FIELDRELAY_HOUSECALLPRO_SECRET"] = secret  # the preload's connector verifies as the service's
        db_url = args.db or f"sqlite:///{workdir / 'bench.db'}"
        if args.db:
            wipe_postgres(args.db)
        loaded = preload(db_url, args.config, args.preload, secret)
        console.print(
            f"  preloaded {loaded.customers:,} customers in {loaded.wall_s:,.0f} s (worker CPU/event first "
            f"{loaded.cpu_ms_first:.2f} ms, last {loaded.cpu_ms_last:.2f} ms)"
        )
        with baseline_app(workdir, secret) as base:
            warm, _ = build_deliveries(args.warmup, secret, "bw", 10_000_000)
            asyncio.run(_send(base.base_url, warm, min(args.concurrency, 8), None, args.client))
            sample, _ = build_deliveries(args.requests, secret, "bb", args.preload)
            base_proc = psutil.Process(base.proc.pid)
            base_cpu0 = sum(base_proc.cpu_times()[:2])
            baseline = asyncio.run(_send(base.base_url, sample, args.concurrency, None, args.client))
            base_cpu = sum(base_proc.cpu_times()[:2]) - base_cpu0
        results: dict[str, Figures] = {}
        with serve(db_url, workdir, args.config, secret, extra_workers=args.workers - 1) as server:
            sampler = ResourceSampler(server.proc.pid, [w.pid for w in server.workers])
            sampler.start()
            reader = read_only_engine(db_url)
            try:
                first_new = args.preload
                if args.warmup > 0:  # through the whole path (imports, statement caches, pool); not measured
                    warm, first_new = build_deliveries(args.warmup, secret, "w", first_new)
                    floor = max_inbox_id(reader)
                    asyncio.run(_send(server.base_url, warm, min(args.concurrency, 8), None, args.client))
                    _wait_finished(reader, floor, len(warm), args.drain_timeout)
                for phase in args.phases:
                    rate = None if phase == "burst" else args.rate
                    count = args.requests if phase == "burst" else max(1, round(args.rate * args.paced_seconds))
                    deliveries, first_new = build_deliveries(count, secret, phase, first_new)
                    figures = _measure(args, phase, deliveries, rate, server, sampler, reader)
                    figures["baseline_acked_per_s"] = len(baseline.acked_at) / baseline.wall
                    figures["ack_ratio"] = figures["acked_per_s"] / figures["baseline_acked_per_s"]
                    figures["baseline_cpu_ms_per_ack"] = base_cpu * 1000 / max(len(baseline.acked_at), 1)
                    figures["baseline_cores"] = base_cpu / baseline.wall
                    figures["baseline_client_cores"] = baseline.client_cpu_s / baseline.wall
                    figures["load_avg_1m"] = os.getloadavg()[0]
                    figures["preload_cpu_first_ms"] = loaded.cpu_ms_first
                    figures["preload_cpu_last_ms"] = loaded.cpu_ms_last
                    results[phase] = figures
            finally:
                sampler.stop()
                reader.dispose()
        return results


def wipe_postgres(url: str) -> None:
    """Empty the bench's PostgreSQL database (its name must contain "bench": the run drops every table in it)."""
    name = make_url(url).database or ""
    if "bench" not in name:
        raise SystemExit(f"--db: the database name must contain 'bench' (the run empties it), not {name!r}")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def _wait_finished(engine: Engine, floor: int, expected: int, timeout: float) -> None:
    """Wait until ``expected`` inbox rows above ``floor`` are no longer pending or processing."""
    c = inbox.c
    query = select(func.count()).select_from(inbox).where(c.id > floor, c.status.not_in(IN_FLIGHT))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() >= expected:
                return
        time.sleep(0.05)


def _measure(
    args: argparse.Namespace,
    phase: str,
    deliveries: list[Delivery],
    rate: float | None,
    server: Server,
    sampler: ResourceSampler,
    reader: Engine,
) -> Figures:
    count = len(deliveries)
    keys = {d.key: i for i, d in enumerate(deliveries)}
    floor, timer_floor = max_inbox_id(reader), max_timer_id(reader)
    poller = InboxPoller(reader, floor, keys, args.poll_ms / 1000)
    poller.start()
    cpu0, api_cpu0 = sampler.cpu_seconds(), sampler.api_cpu_seconds()
    sent = asyncio.run(_send(server.base_url, deliveries, args.concurrency, rate, args.client))
    api_cpu = sampler.api_cpu_seconds() - api_cpu0
    deadline = time.monotonic() + args.drain_timeout
    while len(poller.seen_at) < len(sent.acked_at) and time.monotonic() < deadline and server.proc.poll() is None:
        time.sleep(0.02)
    drained = time.time()
    poller.stop()
    server_cpu = sampler.cpu_seconds() - cpu0
    if server.proc.poll() is not None:
        console.print(f"[red]the service died during the {phase} phase:[/]\n{server.log_tail()}")
    rows = read_rows(reader, floor)
    review_timers = count_review_timers(reader, timer_floor)

    observed_ms: list[float] = []
    column_ms: list[float] = []
    processed_at: list[float] = []
    for index, acked_at in sent.acked_at.items():
        seen = poller.seen_at.get(index)
        if seen is not None:
            observed_ms.append((seen - acked_at) * 1000)
        row = rows.get(deliveries[index].key)
        if row is not None and row.status == "done" and row.processed_at is not None:
            column_ms.append((row.processed_at - row.received_at).total_seconds() * 1000)
            processed_at.append(row.processed_at.timestamp())
    acked, done = len(sent.acked_at), len(processed_at)
    last_done = max(processed_at) if processed_at else math.nan
    first_ack = min(sent.acked_at.values()) if sent.acked_at else math.nan
    figures: Figures = {
        "requests": float(count),
        "acked": float(acked),
        "send_wall_s": sent.wall,
        "sent_per_s": sum(sent.statuses.values()) / sent.wall,
        "acked_per_s": acked / sent.wall,
        "ack_p50_ms": percentile(sent.latencies_ms, 50),
        "ack_p99_ms": percentile(sent.latencies_ms, 99),
        "e2e_p50_ms": percentile(observed_ms, 50),
        "e2e_p99_ms": percentile(observed_ms, 99),
        "e2e_max_ms": max(observed_ms, default=math.nan),
        "col_p50_ms": percentile(column_ms, 50),
        "col_p99_ms": percentile(column_ms, 99),
        "processed": float(done),
        "processed_per_s": done / (last_done - first_ack) if done > 1 and last_done > first_ack else math.nan,
        "drain_after_send_s": max(last_done - sent.finished, 0.0) if done else math.nan,
        "timers": float(review_timers),
        "timers_expected": float(sum(1 for d in deliveries if d.event == "job.paid")),
        "rss_mb": sampler.peak_bytes / 2**20,
        **{f"rss_{role}_mb": sampler.peak_by_role[role] / 2**20 for role in ("api", "worker", "mp_helper")},
        "api_cpu_ms_per_ack": api_cpu * 1000 / acked if acked else math.nan,
        "api_cores": api_cpu / sent.wall,
        "server_cores": server_cpu / max(drained - sent.started, 1e-9),
        "client_cores": sent.client_cpu_s / sent.wall,
        "unobserved": float(acked - len(observed_ms)),
        **_windows(sorted(processed_at), sampler.worker_cpu(sent.started)),
    }
    not_done = Counter(r.status for k, r in rows.items() if k in keys and r.status != "done")
    refused = {k: v for k, v in sent.statuses.items() if not k.startswith("2")}
    if refused or not_done or poller.errors or figures["unobserved"]:
        console.print(
            f"  [yellow]{phase}: non-2xx {refused}, not done {dict(not_done)}, "
            f"unobserved {acked - len(observed_ms)}, poll errors {poller.errors}[/]"
        )
    return figures


def _windows(done_at: list[float], worker_cpu: Callable[[float], float]) -> Figures:
    """Worker CPU per event and events/s over the first and the last quarter of the rows applied in the phase."""
    q = len(done_at) // 4
    if q < 10:
        return {k: math.nan for k in ("cpu_ms_start", "cpu_ms_end", "rate_start", "rate_end")}
    figures: Figures = {}
    for name, (t0, t1) in (("start", (done_at[0], done_at[q])), ("end", (done_at[-q - 1], done_at[-1]))):
        figures[f"cpu_ms_{name}"] = (worker_cpu(t1) - worker_cpu(t0)) * 1000 / q
        figures[f"rate_{name}"] = q / max(t1 - t0, 1e-9)
    return figures


# --- report --------------------------------------------------------------------------------------

PHASES = ("burst", "paced")

# (key, label, format, target: (phase or None for every phase, "min"/"max", value) or None)
ROWS: list[tuple[str, str, str, tuple[str | None, str, float] | None]] = [
    ("requests", "webhooks sent", "{:,.0f}", None),
    ("preload_cpu_first_ms", "preload: worker CPU ms/event, first 2,000", "{:,.2f}", None),
    ("preload_cpu_last_ms", "preload: worker CPU ms/event, last 2,000", "{:,.2f}", None),
    ("baseline_acked_per_s", "baseline app acknowledged (2xx/s, burst)", "{:,.0f}", None),
    ("acked_per_s", "acknowledged (2xx/s)", "{:,.0f}", None),
    ("ack_ratio", "acknowledged ÷ baseline's (burst)", "{:,.2f}", ("burst", "min", TARGET_ACK_RATIO)),
    ("baseline_cpu_ms_per_ack", "baseline app CPU ms per ack (burst)", "{:,.2f}", None),
    ("api_cpu_ms_per_ack", "API process CPU ms per ack (send)", "{:,.2f}", None),
    ("baseline_cores", "baseline app CPU (cores busy, burst)", "{:,.2f}", None),
    ("api_cores", "API process CPU (cores busy, send)", "{:,.2f}", None),
    ("ack_p50_ms", "ack latency p50 (ms)", "{:,.1f}", None),
    ("ack_p99_ms", "ack latency p99 (ms)", "{:,.1f}", (None, "max", TARGET_ACK_P99_MS)),
    (
        "processed_per_s",
        "processed (events/s, first ack → last done)",
        "{:,.0f}",
        ("burst", "min", TARGET_PROCESSED_PER_S),
    ),
    ("rate_start", "processed events/s, first quarter", "{:,.0f}", None),
    ("rate_end", "processed events/s, last quarter", "{:,.0f}", None),
    ("cpu_ms_start", "worker CPU ms/event, first quarter", "{:,.2f}", None),
    ("cpu_ms_end", "worker CPU ms/event, last quarter", "{:,.2f}", None),
    ("drain_after_send_s", "backlog drained after last ack (s)", "{:,.2f}", None),
    ("e2e_p50_ms", "e2e lag p50 (ms, ack → seen applied)", "{:,.0f}", None),
    ("e2e_p99_ms", "e2e lag p99 (ms, ack → seen applied)", "{:,.0f}", ("paced", "max", TARGET_P99_MS)),
    ("e2e_max_ms", "e2e lag max (ms)", "{:,.0f}", None),
    ("col_p50_ms", "inbox received_at → processed_at p50 (ms)", "{:,.0f}", None),
    ("col_p99_ms", "inbox received_at → processed_at p99 (ms)", "{:,.0f}", None),
    ("timers", "review timers written / expected", "{:,.0f}", None),
    ("rss_mb", "service peak RSS (MB)", "{:,.1f}", (None, "max", TARGET_RSS_MB)),
    ("rss_api_mb", "  API process peak RSS (MB)", "{:,.1f}", None),
    ("rss_worker_mb", "  worker process(es) peak RSS (MB, largest)", "{:,.1f}", None),
    ("rss_mp_helper_mb", "  multiprocessing helper peak RSS (MB)", "{:,.1f}", None),
    ("server_cores", "service CPU (cores busy, send + drain)", "{:,.2f}", None),
    ("client_cores", "load generator CPU (cores busy, send)", "{:,.2f}", None),
    ("baseline_client_cores", "load generator CPU (cores busy, baseline)", "{:,.2f}", None),
    ("load_avg_1m", "machine load average (1 min, end of phase)", "{:,.2f}", None),
]


def median_figures(runs: Sequence[Figures]) -> Figures:
    """The median of each figure across runs (NaNs left out)."""
    keys = runs[0].keys() if runs else []
    result: Figures = {}
    for key in keys:
        values = [r[key] for r in runs if not math.isnan(r[key])]
        result[key] = statistics.median(values) if values else math.nan
    return result


def _fmt(fmt: str, value: float) -> str:
    return "n/a" if math.isnan(value) else fmt.format(value)


def _verdict(value: float, kind: str, limit: float) -> str:
    if math.isnan(value):
        return "[yellow]no data[/]"
    met = value >= limit if kind == "min" else value < limit
    return "[green]met[/]" if met else "[red]not met[/]"


def print_report(medians: dict[str, Figures], runs: int, args: argparse.Namespace) -> None:
    """The table of medians, targets and verdicts."""
    table = Table(title=f"fieldrelay ingest: median of {runs} run(s), concurrency {args.concurrency}")
    table.add_column("figure")
    for name in medians:
        table.add_column("burst" if name == "burst" else f"paced ({args.rate:g}/s)", justify="right")
    table.add_column("target", justify="right")
    table.add_column("", justify="left")
    for key, label, fmt, target in ROWS:
        cells: list[str] = []
        for figures in medians.values():
            cell = _fmt(fmt, figures[key])
            if key == "timers":
                cell = f"{cell} / {_fmt(fmt, figures['timers_expected'])}"
            cells.append(cell)
        judged_phase, kind, limit = target if target is not None else (None, "", math.nan)
        judged = [p for p in medians if judged_phase is None or p == judged_phase]
        if target is None or not judged:
            table.add_row(label, *cells, "", "")
            continue
        values = [medians[p][key] for p in judged]
        worst = max(values) if kind == "max" else min(values)
        where = "" if judged_phase is None else f" ({judged_phase})"
        sign = "≥" if kind == "min" else "<"
        table.add_row(label, *cells, f"{sign} {limit:,g}{where}", _verdict(worst, kind, limit))
    console.print(table)


def machine_info(db_label: str) -> str:
    """Cores, CPU model, Python, SQLite and the database used."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    return (
        f"machine: {os.cpu_count()} logical cores ({psutil.cpu_count(logical=False)} physical), {model}, "
        f"{memory:.1f} GiB; Python {platform.python_version()} ({platform.python_implementation()}), "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}; database: {db_label}"
    )


METHOD = (
    "How measured: each phase starts `python -m fieldrelay serve` on a fresh database and sends pre-built, "
    "pre-signed job.created / job.completed / job.paid deliveries (one customer per job) from this process, "
    "{conc} keep-alive connections over loopback (h11 on asyncio unless --client httpx). "
    "Ack latency = request sent (paced: its scheduled time) -> 2xx. "
    "e2e lag = 2xx received here -> first read-only poll (every {poll} ms) that sees the inbox row done; the "
    "mirror writes and, for job.paid, the review-request timer commit in that same transaction, so this is an "
    "upper bound within one poll interval. received_at -> processed_at are the service's own inbox timestamps "
    "(processed_at is taken when the worker starts applying the row). processed/s = rows done / (first ack -> "
    "last processed_at). RSS: service process and children, sampled every 50 ms. The burst measures the most "
    "the service takes and how long its backlog queues; the paced phase the lag at a sustainable load."
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--preload", type=int, default=50_000, help="customers in the mirror before the traffic (default 50,000)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes: serve's own and K-1 `fieldrelay worker` (PostgreSQL)"
    )
    parser.add_argument("--requests", type=int, default=5000, help="webhooks in the burst phase (default 5000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument("--rate", type=float, default=200.0, help="paced phase: webhooks per second (default 200)")
    parser.add_argument("--paced-seconds", type=float, default=15.0, help="paced phase length (default 15 s)")
    parser.add_argument("--phases", default="burst,paced", help="which phases: burst, paced or both (default)")
    parser.add_argument("--runs", type=int, default=1, help="repeat and print the median of each figure")
    parser.add_argument("--db", help="a PostgreSQL URL to use instead of a temporary SQLite file (see README)")
    parser.add_argument("--config", type=Path, help="fieldrelay.yaml for the service (default: packaged one)")
    parser.add_argument(
        "--client", choices=("h11", "httpx"), default="h11", help="load generator's HTTP client (default h11)"
    )
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured deliveries before each phase")
    parser.add_argument("--poll-ms", type=float, default=20.0, help="database poll interval (default 20 ms)")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="give up waiting for the drain (s)")
    args = parser.parse_args(argv)
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if any(p not in PHASES for p in args.phases) or not args.phases:
        parser.error(f"--phases takes a comma-separated subset of {', '.join(PHASES)}")
    if args.workers > 1 and not args.db:
        parser.error("--workers above 1 needs --db postgresql+psycopg://… (SQLite has one writer)")
    counts = (args.requests, args.concurrency, args.runs, args.workers)
    if min(counts) < 1 or args.preload < 0 or args.rate <= 0 or args.paced_seconds <= 0:
        parser.error("--requests, --concurrency, --runs, --workers, --rate, --paced-seconds must be positive")
    if args.db and make_url(args.db).get_backend_name() == "sqlite":
        parser.error("--db is for a PostgreSQL URL; SQLite runs on a temporary file by default")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    db_label = make_url(args.db).render_as_string(hide_password=True) if args.db else "SQLite (temporary file)"
    console.print(machine_info(db_label) + f"; preload {args.preload:,} customers, {args.workers} worker process(es)")
    results: dict[str, list[Figures]] = {p: [] for p in args.phases}
    for run in range(1, args.runs + 1):
        for phase, figures in run_once(args).items():
            results[phase].append(figures)
            console.print(
                f"run {run}/{args.runs} {phase:5}: {figures['acked_per_s']:,.0f} acked/s "
                f"(baseline {figures['baseline_acked_per_s']:,.0f}, ratio {figures['ack_ratio']:.2f}), "
                f"ack p99 {figures['ack_p99_ms']:,.1f} ms, {figures['processed_per_s']:,.0f} processed/s "
                f"({figures['rate_start']:,.0f} → {figures['rate_end']:,.0f}), worker CPU "
                f"{figures['cpu_ms_start']:.2f} → {figures['cpu_ms_end']:.2f} ms/event, "
                f"e2e p50/p99 {figures['e2e_p50_ms']:,.0f}/{figures['e2e_p99_ms']:,.0f} ms, "
                f"RSS {figures['rss_mb']:,.0f} MB (API {figures['rss_api_mb']:,.0f}, worker "
                f"{figures['rss_worker_mb']:,.0f}, helper {figures['rss_mp_helper_mb']:,.0f}), service "
                f"{figures['server_cores']:.2f} cores, CPU ms/ack API {figures['api_cpu_ms_per_ack']:.2f} "
                f"baseline {figures['baseline_cpu_ms_per_ack']:.2f}, load {figures['load_avg_1m']:.1f}"
            )
    print_report({p: median_figures(r) for p, r in results.items()}, args.runs, args)
    console.print(METHOD.format(poll=f"{args.poll_ms:g}", conc=args.concurrency), style="dim", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
