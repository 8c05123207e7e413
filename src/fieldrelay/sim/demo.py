"""``fieldrelay demo``: start the real service on a fresh SQLite file with a simulated clock and drive it."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console

from fieldrelay.reports.kpi import build_report, print_report
from fieldrelay.rules.loader import DEFAULT_YAML
from fieldrelay.runtime import build_runtime
from fieldrelay.service.access.accounts import create_first_owner
from fieldrelay.sim.driver import DriveResult, drive
from fieldrelay.sim.leads import FORM_ID
from fieldrelay.sim.week import plan_week

# Monday 07:00 in Chicago: the simulated week starts before the shop opens.
DEMO_START = datetime(2026, 11, 2, 13, 0, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# A fresh clone's first start compiles every module; on a busy 2-core machine that took over 30 s. A service that
# exits is reported at once, so a long wait only costs time when the start is merely slow.
def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with code {process.returncode} before it was ready")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the service did not become ready in time")


# The demo shop's people (the names on its team) sign in with these; each run gets a fresh password.
DEMO_OWNER, DEMO_OWNER_EMAIL = "Olga", "olga@demo.fieldrelay.test"


def run_demo(workdir: Path, seed: int, console: Console, keep_serving: bool = False) -> DriveResult:
    """Run one simulated week end to end and print the report; with ``keep_serving`` the office app stays up."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = (workdir / "fieldrelay-demo.db").resolve()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    db_url = f"sqlite:///{db_path}"
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    forms_token = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "FIELDRELAY_API_TOKEN": secrets.token_urlsafe(24),
        "FIELDRELAY_HOUSECALLPRO_SECRET": secrets.token_urlsafe(24),
        "FIELDRELAY_FORMS_SECRET": f"{FORM_ID}={forms_token}",
        "FIELDRELAY_TWILIO_SECRET": secrets.token_urlsafe(24),
        "FIELDRELAY_SESSION_SECRET": secrets.token_urlsafe(32),
    }
    start = DEMO_START
    end = start + timedelta(days=7)
    week = plan_week(start, seed=seed)
    deliveries, leads, replies = week.deliveries, week.leads, week.replies
    console.print(
        f"Simulated 9-technician plumbing shop, week of {start:%Y-%m-%d}: {len(deliveries)} signed "
        f"Housecall Pro webhooks (redeliveries and late ones included), {len(leads)} website form submissions "
        f"(customers writing in again, a spouse, new people, {len(week.referrals)} friends with a referral code) and "
        f"{len(replies)} signed Twilio text replies (customers answering the 1-5 satisfaction question); the office "
        f"works its task queue through the API in business hours → {base_url}"
    )
    log_path = workdir / "service.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fieldrelay",
                "serve",
                "--demo",  # the demo shop's own configuration, whatever the current folder holds
                "--config",
                str(DEFAULT_YAML),
                "--db",
                db_url,
                "--port",
                str(port),
                "--clock",
                "simulated",
                "--start",
                start.isoformat(),
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(base_url, process)
            result = drive(
                base_url,
                env["FIELDRELAY_API_TOKEN"],
                env["FIELDRELAY_HOUSECALLPRO_SECRET"],
                deliveries,
                start,
                end,
                submissions=leads,
                forms_token=forms_token,
                replies=replies,
                twilio_token=env["FIELDRELAY_TWILIO_SECRET"],
                office=week.office,
            )
            password = demo_sign_in(db_url)
        except BaseException:
            _stop(process)
            raise
        if not keep_serving:
            _stop(process)
    console.print(
        f"Sent {result.sent} ({result.webhooks} signed webhooks, {result.form_submissions} form submissions, "
        f"{result.replies} text replies): "
        f"{result.accepted} accepted, {result.duplicates} acknowledged as duplicates, {result.refused} refused."
    )
    worked = ", ".join(f"{what} {n}" for what, n in sorted(result.office.items()))
    console.print(f"The office's week (calls and closed tasks, by outcome): {worked or 'nothing'}.")
    runtime = build_runtime(db_url, DEFAULT_YAML, migrate=False)
    # The service ran on a simulated clock in its own process, and drive() left that clock at ``end``: judge
    # staleness as of that moment. The wall clock is unrelated to the simulated week (before it, nothing would be
    # late; long after it, every webhook still in flight at the end would be).
    data = build_report(runtime, now=end)
    data.where = {
        "Database": str(db_path),
        "Service log": str(log_path.resolve()),
        "Office app": f"{base_url}/ (sign in as {DEMO_OWNER_EMAIL}, password {password})"
        + ("" if keep_serving else "; stopped: `fieldrelay demo --keep-serving` leaves it running"),
    }
    print_report(data, console)
    runtime.engine.dispose()
    if keep_serving:
        console.print(
            f"The office app is at {base_url}/ — sign in as {DEMO_OWNER_EMAIL} with password {password} "
            "(the shop's owner; the clock stands at the end of the simulated week). Ctrl-C stops it."
        )
        try:
            process.wait()
        except KeyboardInterrupt:
            console.print("Stopping.")
        finally:
            _stop(process)
    return result


def demo_sign_in(db_url: str) -> str:
    """The demo shop's owner, with a fresh password for this run; the password."""
    password = secrets.token_urlsafe(12)
    runtime = build_runtime(db_url, DEFAULT_YAML, migrate=False)
    try:
        with runtime.unit_of_work(runtime.settings.account_id) as ctx:
            create_first_owner(ctx.store, ctx.now, "demo", DEMO_OWNER, DEMO_OWNER_EMAIL, password)
    finally:
        runtime.engine.dispose()
    return password


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the service and wait for it."""
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)
