"""Office pages benchmark: the Reports, Reviews, Sequences and Health pages' render time on a mirror of 50,000
customers and 500,000 webhook events (and a week of the worker's health samples), beside the My day and Audit log
pages measured in the same run on the same database.

Prints figures; never asserts a timing. The mirror is written with bulk inserts (a bench's shortcut: the rows have the
shape the service writes, not its history), then every page is requested through the real app (``build_app``, signed
in as an owner, no network: Starlette's TestClient) ``--runs`` times; the median and the slowest are printed.

    .venv/bin/python bench/office_pages.py [--customers 50000] [--events 500000] [--runs 7] [--db URL] [--seed 7]

Without ``--db`` it uses a fresh SQLite file in a temporary directory; ``--db postgresql+psycopg://…`` must name an
empty database (it is migrated and filled).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert
from sqlalchemy import Table as SqlTable

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.loader import load_settings
from fieldrelay.runtime import build_runtime
from fieldrelay.server import build_app
from fieldrelay.service.access import accounts
from fieldrelay.service.access.permissions import Actor
from fieldrelay.storage.handoff.tables import referrals, referrers
from fieldrelay.storage.kpis.facts import refresh_all
from fieldrelay.storage.kpis.tables import stale_checks
from fieldrelay.storage.ops.health import minute_of
from fieldrelay.storage.ops.tables import health_samples
from fieldrelay.storage.sequences.tables import enrollments
from fieldrelay.storage.tables import (
    activities,
    customers,
    deals,
    delivery_attempts,
    inbox,
    jobs,
    messages,
    outbox,
    service_history,
    timers,
)

TARGET_MS = 300.0
ACCOUNT = "default"
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
SOURCES = ("google", "yelp", "referral", "website", "facebook", "repeat")
TECHNICIANS = tuple(f"Tech {n}" for n in range(1, 13))
CONNECTORS = ("housecallpro", "stripe", "twilio", "sendgrid")
PASSWORD = "bench password 123"
PAGES = (
    ("My day (baseline)", "/"),
    ("Audit log (baseline)", "/audit"),
    ("Reports, 7 days", "/reports?days=7"),
    ("Reports, 30 days", "/reports?days=30"),
    ("Reports, 90 days", "/reports?days=90"),
    ("Reports, 30 days, one technician", "/reports?days=30&technician=Tech+3"),
    ("Reports, 90 days, one technician", "/reports?days=90&technician=Tech+3"),
    ("Reports, 90 days, one lead source", "/reports?days=90&source=google"),
    ("Reports CSV (summary, 90 days)", "/reports/summary.csv?days=90"),
    ("Reviews, 7 days", "/reviews?days=7"),
    ("Reviews, 30 days", "/reviews?days=30"),
    ("Reviews, 90 days", "/reviews?days=90"),
    ("Health", "/health"),
    ("Health, 180 minutes", "/health?minutes=180"),
    ("Health, 24 hours of backlog", "/health?hours=24"),
    ("Health CSV (backlog by target, 24 hours)", "/health/backlog_targets.csv?hours=24"),
    ("Sequences, 30 days", "/sequences?days=30"),
    ("Sequences, 90 days", "/sequences?days=90"),
)

console = Console(width=None if sys.stdout.isatty() else 130)


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _bulk(engine: Engine, table: SqlTable, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for chunk in _chunks(rows):
            conn.execute(insert(table), chunk)


def _ago(rng: random.Random, days: float) -> datetime:
    return NOW - timedelta(seconds=rng.uniform(0, days * 86400))


def preload(engine: Engine, n_customers: int, n_events: int, seed: int) -> dict[str, int]:
    """Fill the mirror: customers with a lead each, a job each (most paid), the texts after them, estimates and their
    follow-ups, referrals, ``n_events`` webhook rows, outbox rows, timers, a stale check a day and the week of backlog
    samples the worker keeps."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    people, leads, job_rows, history, texts, acts, sent_rows = [], [], [], [], [], [], []
    enrolled: list[dict[str, Any]] = []
    for i in range(n_customers):
        cid = f"c{i}"
        created = _ago(rng, 120)
        people.append(
            {
                "id": cid,
                "account_id": ACCOUNT,
                "lead_source": rng.choice(SOURCES),
                "lifecycle_stage": "customer",
                "created_at": created,
                "updated_at": created,
            }
        )
        answered = created + timedelta(minutes=rng.lognormvariate(1.2, 1.0)) if rng.random() < 0.93 else None
        leads.append(
            {
                "id": f"d{i}",
                "account_id": ACCOUNT,
                "customer_id": cid,
                "stage": rng.choice(("won", "estimate_sent", "no_decision", "new_lead")),
                "stage_at": created,
                "is_open": rng.random() < 0.3,
                "owner": rng.choice(("Sam", "Rosa", None)),
                "lead_at": created,
                "first_response_at": answered,
                "created_at": created,
                "updated_at": created,
            }
        )
        done = created + timedelta(days=rng.uniform(0.5, 5))
        if done > NOW:
            continue
        crew = rng.sample(TECHNICIANS, rng.choice((1, 1, 2)))
        paid = done + timedelta(hours=rng.uniform(0.1, 30)) if rng.random() < 0.8 else None
        paid = paid if paid is not None and paid <= NOW else None
        job_rows.append(
            {
                "id": f"j{i}",
                "account_id": ACCOUNT,
                "customer_id": cid,
                "status": "paid" if paid else "completed",
                "status_at": paid or done,
                "technicians": crew,
                "total_cents": rng.randint(9_000, 900_000),
                "paid_at": paid,
                "created_at": created,
                "updated_at": paid or done,
            }
        )
        history.append(
            {
                "account_id": ACCOUNT,
                "customer_id": cid,
                "job_id": f"j{i}",
                "completed_at": done,
                "technicians": crew,
                "line_items": [],
                "recorded_at": done,
            }
        )
        touch = done + timedelta(minutes=rng.uniform(2, 60))
        texts.append(_text(f"t{i}", cid, f"j{i}", "satisfaction_check.ask", done, touch, rng))
        texts[-1]["enrollment_id"] = _enrol(enrolled, f"s{i}", "satisfaction_check", cid, f"j{i}", done, rng)
        if paid is not None:
            ask = paid + timedelta(minutes=30 if rng.random() < 0.8 else rng.uniform(300, 900))
            texts.append(_text(f"r{i}", cid, f"j{i}", "review_request", paid, ask, rng, click=0.35))
            # The review link follows the lead source (followup.review_links), else the shop's Google link.
            platform = source if (source := people[-1]["lead_source"]) in ("yelp", "facebook") else "google"
            texts[-1]["review_platform"] = platform
            if rng.random() < 0.5:
                texts.append(
                    _text(
                        f"e{i}",
                        cid,
                        f"j{i}",
                        "review_follow_up.email",
                        paid,
                        paid + timedelta(days=2),
                        rng,
                        click=0.2,
                        channel="email",
                    )
                )
                texts[-1]["enrollment_id"] = _enrol(enrolled, f"f{i}", "review_follow_up", cid, f"j{i}", paid, rng)
                texts[-1]["review_platform"] = platform
        if rng.random() < 0.4:
            acts.append(_activity(cid, "estimate.sent", created + timedelta(days=1)))
            if rng.random() < 0.7:
                acts.append(_activity(cid, "followup.logged", created + timedelta(days=1, hours=rng.uniform(1, 70))))
    for table, rows in (
        (customers, people),
        (deals, leads),
        (jobs, job_rows),
        (service_history, history),
        (messages, [t for t in texts if t["scheduled_for"] <= NOW]),
        (activities, acts),
        (enrollments, [e for e in enrolled if e["enrolled_at"] <= NOW]),
    ):
        _bulk(engine, table, rows)
        counts[table.name] = len(rows)
    for i in range(n_events):
        received = _ago(rng, 90)
        waiting = i % 5000 == 0
        sent_rows.append(
            {
                "account_id": ACCOUNT,
                "connector": rng.choice(CONNECTORS),
                "dedupe_key": f"ev{i}",
                "event_type": "job.completed",
                "received_at": received,
                "headers": {},
                "body": b"{}",
                "status": "pending" if waiting else "done",
                "attempts": 0,
                "next_attempt_at": received,
                "processed_at": None if waiting else received + timedelta(seconds=1),
            }
        )
        if len(sent_rows) >= 50_000:
            _bulk(engine, inbox, sent_rows)
            sent_rows = []
    _bulk(engine, inbox, sent_rows)
    counts["inbox"] = n_events
    deliveries: list[dict[str, Any]] = [
        {
            "account_id": ACCOUNT,
            "idempotency_key": f"o{i}",
            "target": rng.choice(("sms", "email", "hubspot")),
            "kind": "send",
            "ordering_key": f"c{i % n_customers}",
            "payload": {},
            "status": "pending" if i % 2000 == 0 else "sent",
            "attempts": 1,
            "next_attempt_at": (at := _ago(rng, 90)),
            "created_at": at,
            "sent_at": None if i % 2000 == 0 else at + timedelta(seconds=2),
        }
        for i in range(n_events // 5)
    ]
    _bulk(engine, outbox, deliveries)
    counts["outbox"] = len(deliveries)
    _bulk(
        engine,
        delivery_attempts,
        [
            {
                "account_id": ACCOUNT,
                "outbox_id": i + 1,
                "attempt": 1,
                "started_at": deliveries[i]["created_at"],
                "duration_ms": 40,
                "outcome": "sent",
                "status_code": 200,
            }
            for i in range(0, len(deliveries), 10)
        ],
    )
    _bulk(
        engine,
        timers,
        [
            {
                "account_id": ACCOUNT,
                "key": f"k{i}",
                "kind": rng.choice(("sequence_step", "review_request")),
                "due_at": (due := NOW + timedelta(minutes=rng.uniform(-30, 60 * 24 * 30))),
                "payload": {},
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": due,
                "created_at": NOW - timedelta(days=1),
            }
            for i in range(n_customers // 2)
        ],
    )
    _bulk(
        engine,
        referrers,
        [
            {
                "id": f"rr{i}",
                "account_id": ACCOUNT,
                "customer_id": f"c{i}",
                "code": f"CODE{i}",
                "enrolled_via": "rating",
                "enrolled_at": NOW - timedelta(days=100),
                "status": "active",
            }
            for i in range(n_customers // 50)
        ],
    )
    _bulk(
        engine,
        referrals,
        [
            {
                "id": f"rf{i}",
                "account_id": ACCOUNT,
                "referrer_id": f"rr{i % (n_customers // 50)}",
                "referred_customer_id": f"c{n_customers - 1 - i}",
                "code": "X",
                "captured_via": "code",
                "captured_at": _ago(rng, 120),
                "status": rng.choice(("pending", "qualified", "rewarded", "rejected")),
                "flags": [],
                "updated_at": NOW,
            }
            for i in range(n_customers // 25)
        ],
    )
    _bulk(
        engine,
        stale_checks,
        [
            {
                "account_id": ACCOUNT,
                "checked_at": NOW - timedelta(days=d),
                "records": n_customers,
                "stale": rng.randint(0, n_customers // 40),
                "stale_after_minutes": 10.0,
            }
            for d in range(120)
        ],
    )
    counts["health_samples"] = _health_samples(engine, rng)
    return counts


def _health_samples(engine: Engine, rng: random.Random) -> int:
    """A sample a minute for the week the worker keeps: every queue's total, and a row for each connector, timer kind
    and target with rows waiting (all of them, every minute: the most the page can meet)."""
    targets = (("inbox", CONNECTORS), ("timers", ("sequence_step", "review_request")), ("outbox", ("sms", "email")))
    last = minute_of(NOW)
    rows: list[dict[str, Any]] = []
    for minute in range(last - 7 * 24 * 60 + 1, last + 1):
        for queue, names in targets:
            figures = [(name, rng.randint(1, 40), rng.uniform(1, 900)) for name in names]
            rows.append(_sample(minute, queue, "*", sum(f[1] for f in figures), max(f[2] for f in figures)))
            rows.extend(_sample(minute, queue, *figure) for figure in figures)
    _bulk(engine, health_samples, rows)
    return len(rows)


def _sample(minute: int, queue: str, target: str, waiting: int, oldest: float) -> dict[str, Any]:
    return {
        "account_id": ACCOUNT,
        "minute": minute,
        "queue": queue,
        "target": target,
        "waiting": waiting,
        "oldest_seconds": oldest,
    }


def _text(
    mid: str,
    cid: str,
    jid: str,
    purpose: str,
    trigger: datetime,
    at: datetime,
    rng: random.Random,
    click: float = 0.0,
    channel: str = "sms",
) -> dict[str, Any]:
    return {
        "id": mid,
        "account_id": ACCOUNT,
        "customer_id": cid,
        "job_id": jid,
        "channel": channel,
        "purpose": purpose,
        "to_address": "+15125550100",
        "body": "text",
        "status": "delivered",
        "scheduled_for": at,
        "sent_at": at,
        "trigger_at": trigger,
        "created_at": trigger,
        "clicked_at": at + timedelta(hours=1) if rng.random() < click else None,
        "enrollment_id": None,
        "review_platform": None,
    }


def _enrol(
    rows: list[dict[str, Any]], eid: str, sequence: str, cid: str, jid: str, at: datetime, rng: random.Random
) -> str:
    """An enrolment begun at ``at``: most finished every step, some ended on a reply, a booking or an opt-out."""
    status, reason = rng.choice(
        (("completed", None),) * 5
        + (("active", None), ("exited", "replied"), ("exited", "booked again"))
        + (("exited", "opted out"),)
    )
    rows.append(
        {
            "id": eid,
            "account_id": ACCOUNT,
            "sequence": sequence,
            "subject_key": f"job:{jid}",
            "customer_id": cid,
            "job_id": jid,
            "anchor_at": at,
            "status": status,
            "next_step": 1,
            "last_step": None if status == "active" else "ask",
            "exit_reason": reason,
            "context": {},
            "enrolled_at": at,
            "updated_at": at + timedelta(days=2),
        }
    )
    return eid


def _activity(cid: str, kind: str, at: datetime) -> dict[str, Any]:
    return {
        "account_id": ACCOUNT,
        "customer_id": cid,
        "at": at,
        "kind": kind,
        "summary": kind,
        "source": "bench",
        "applied": True,
        "recorded_at": at,
    }


def measure(client: TestClient, path: str, runs: int) -> tuple[float, float]:
    """Median and slowest milliseconds of ``runs`` requests (after one unmeasured warm-up)."""
    assert client.get(path).status_code == 200, path
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", help="an empty database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    os.environ.setdefault("FIELDRELAY_SESSION_SECRET", "bench-session-secret")
    with tempfile.TemporaryDirectory(prefix="fieldrelay-bench-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'office.db'}"
        runtime = build_runtime(url, settings=load_settings(), clock=SimulatedClock(NOW), migrate=True)
        started = time.perf_counter()
        counts = preload(runtime.engine, args.customers, args.events, args.seed)
        loaded = time.perf_counter() - started
        # The load's rows marked their customers (migration 0018's triggers); the worker remakes their KPI facts a
        # batch every pass, so within a minute of such a load. Done here at once, as the worker would.
        started = time.perf_counter()
        with runtime.engine.begin() as conn:
            remade = refresh_all(conn, ACCOUNT)
        console.print(f"KPI facts of {remade:,} customers made in {time.perf_counter() - started:.0f} s")
        if runtime.engine.dialect.name == "postgresql":
            # A shop's PostgreSQL has autovacuum's statistics within minutes of such a load; without them the planner
            # guesses. SQLite is left as shops run it: never ANALYZEd.
            with runtime.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        console.print(f"preloaded in {loaded:.0f} s: " + ", ".join(f"{n:,} {t}" for t, n in counts.items()))
        with runtime.unit_of_work(ACCOUNT) as ctx:
            accounts.add_user(ctx.store, ctx.now, Actor("bench", "owner", "cli"), "Olga", "owner", None, PASSWORD)
        with TestClient(build_app(runtime)) as client:
            form = client.get("/signin").text
            token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed = client.post(
                "/signin",
                data={"csrf_token": token, "login": "Olga", "password": PASSWORD, "next": "/"},
                follow_redirects=False,
            )
            assert signed.status_code == 303, "could not sign in"
            results = [(label, path, *measure(client, path, args.runs)) for label, path in PAGES]
        runtime.engine.dispose()
    db = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    table = Table(
        title=f"Office pages on {db}: {args.customers:,} customers, {args.events:,} events, median of {args.runs}"
    )
    for column in ("page", "median ms", "slowest ms", "target", "met"):
        table.add_column(column, justify="left" if column == "page" else "right")
    for label, _, median_ms, slowest in results:
        baseline = "baseline" in label
        met = "—" if baseline else ("met" if median_ms < TARGET_MS else "NOT met")
        table.add_row(label, f"{median_ms:.0f}", f"{slowest:.0f}", "—" if baseline else f"< {TARGET_MS:.0f} ms", met)
    console.print(table)


if __name__ == "__main__":
    main()
