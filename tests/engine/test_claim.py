"""Claiming inbox and outbox rows with a lease: leases, recovery, fencing, per-key ordering, SKIP LOCKED."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text

from fieldrelay.engine.claim import Claimed, LeaseLost, claim, finish, outbox_in_order
from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.rules.config import Settings
from fieldrelay.runtime import Runtime, build_runtime
from fieldrelay.storage.tables import inbox, outbox
from tests.conftest import START

LEASE = timedelta(seconds=30)
ACCOUNT = "default"


def add_inbox(engine: Engine, now: datetime, count: int) -> list[int]:
    """Insert ``count`` pending inbox rows due at ``now``; return their ids, oldest first."""
    ids: list[int] = []
    with engine.begin() as conn:
        for n in range(count):
            ids.append(
                conn.execute(
                    insert(inbox)
                    .values(
                        account_id=ACCOUNT,
                        connector="housecallpro",
                        dedupe_key=f"test:{n}",
                        event_type="job.created",
                        received_at=now,
                        deliveries=1,
                        headers={},
                        body=b"{}",
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                    )
                    .returning(inbox.c.id)
                ).scalar_one()
            )
    return ids


def add_outbox(engine: Engine, now: datetime, ordering_key: str, key: str) -> int:
    """Insert one pending SMS outbox row; return its id."""
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(outbox)
                .values(
                    account_id=ACCOUNT,
                    idempotency_key=key,
                    target="sms",
                    kind="sms",
                    ordering_key=ordering_key,
                    payload={"to": "+15125550142", "body": "hi"},
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                .returning(outbox.c.id)
            ).scalar_one()
        )


def claim_inbox(runtime: Runtime, worker_id: str, limit: int = 10) -> list[Claimed]:
    return claim(runtime.engine, inbox, worker_id=worker_id, now=runtime.clock.now(), lease=LEASE, limit=limit)


def claim_outbox(runtime: Runtime, worker_id: str, limit: int = 10) -> list[Claimed]:
    return claim(
        runtime.engine,
        outbox,
        worker_id=worker_id,
        now=runtime.clock.now(),
        lease=LEASE,
        limit=limit,
        in_flight="sending",
        extra=outbox_in_order(outbox),
    )


def inbox_row(engine: Engine, row_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(inbox).where(inbox.c.id == row_id)).one()


@pytest.fixture
def sim_clock(runtime: Runtime) -> SimulatedClock:
    assert isinstance(runtime.clock, SimulatedClock)
    return runtime.clock


def test_claimed_rows_are_leased_and_not_claimable_until_the_lease_expires(
    runtime: Runtime, sim_clock: SimulatedClock
) -> None:
    ids = add_inbox(runtime.engine, sim_clock.now(), 3)

    first = claim_inbox(runtime, "worker-a")
    assert [c.row.id for c in first] == ids
    assert not any(c.recovered for c in first)
    row = inbox_row(runtime.engine, ids[0])
    assert row.status == "processing"
    assert row.locked_by == "worker-a"
    assert row.locked_until == sim_clock.now() + LEASE
    assert row.attempts == 1

    assert claim_inbox(runtime, "worker-b") == []
    sim_clock.advance(LEASE.total_seconds() - 1)
    assert claim_inbox(runtime, "worker-b") == []


def test_an_expired_lease_is_reclaimed_as_recovered(runtime: Runtime, sim_clock: SimulatedClock) -> None:
    (row_id,) = add_inbox(runtime.engine, sim_clock.now(), 1)
    assert [c.row.id for c in claim_inbox(runtime, "worker-a")] == [row_id]

    sim_clock.advance(LEASE.total_seconds() + 1)
    taken = claim_inbox(runtime, "worker-b")

    assert [(c.row.id, c.recovered) for c in taken] == [(row_id, True)]
    row = inbox_row(runtime.engine, row_id)
    assert (row.locked_by, row.attempts) == ("worker-b", 2)


def test_finish_by_a_worker_that_lost_its_lease_raises_and_changes_nothing(
    runtime: Runtime, sim_clock: SimulatedClock
) -> None:
    (row_id,) = add_inbox(runtime.engine, sim_clock.now(), 1)
    claim_inbox(runtime, "worker-a")
    sim_clock.advance(LEASE.total_seconds() + 1)
    claim_inbox(runtime, "worker-b")
    before = inbox_row(runtime.engine, row_id)

    with pytest.raises(LeaseLost), runtime.engine.begin() as conn:
        finish(conn, inbox, row_id, "worker-a", status="done", processed_at=sim_clock.now())

    assert inbox_row(runtime.engine, row_id) == before
    assert before.status == "processing"
    with runtime.engine.begin() as conn:
        finish(conn, inbox, row_id, "worker-b", status="done", processed_at=sim_clock.now())
    after = inbox_row(runtime.engine, row_id)
    assert (after.status, after.locked_by, after.locked_until) == ("done", None, None)


def test_finished_rows_are_not_claimed_again(runtime: Runtime, sim_clock: SimulatedClock) -> None:
    (row_id,) = add_inbox(runtime.engine, sim_clock.now(), 1)
    claim_inbox(runtime, "worker-a")
    with runtime.engine.begin() as conn:
        finish(conn, inbox, row_id, "worker-a", status="done", processed_at=sim_clock.now())

    sim_clock.advance(3600)
    assert claim_inbox(runtime, "worker-b") == []
    with pytest.raises(LeaseLost), runtime.engine.begin() as conn:
        finish(conn, inbox, row_id, "worker-a", status="dead")


def test_outbox_rows_with_one_ordering_key_are_claimed_oldest_first(
    runtime: Runtime, sim_clock: SimulatedClock
) -> None:
    now = sim_clock.now()
    first = add_outbox(runtime.engine, now, "customer:1", "k1")
    second = add_outbox(runtime.engine, now, "customer:1", "k2")
    other = add_outbox(runtime.engine, now, "customer:2", "k3")

    taken = claim_outbox(runtime, "worker-a")
    assert [c.row.id for c in taken] == [first, other]
    # While the first is in flight the second stays blocked, even for another worker.
    assert claim_outbox(runtime, "worker-b") == []

    with runtime.engine.begin() as conn:
        finish(conn, outbox, first, "worker-a", in_flight="sending", status="sent", sent_at=now)
    assert [c.row.id for c in claim_outbox(runtime, "worker-b")] == [second]


def test_a_dead_outbox_row_no_longer_blocks_its_ordering_key(runtime: Runtime, sim_clock: SimulatedClock) -> None:
    now = sim_clock.now()
    first = add_outbox(runtime.engine, now, "customer:1", "k1")
    second = add_outbox(runtime.engine, now, "customer:1", "k2")

    assert [c.row.id for c in claim_outbox(runtime, "worker-a")] == [first]
    with runtime.engine.begin() as conn:
        finish(conn, outbox, first, "worker-a", in_flight="sending", status="dead", last_error="refused")

    assert [c.row.id for c in claim_outbox(runtime, "worker-a")] == [second]


def test_a_pending_retry_keeps_blocking_later_rows_of_its_key(runtime: Runtime, sim_clock: SimulatedClock) -> None:
    now = sim_clock.now()
    first = add_outbox(runtime.engine, now, "customer:1", "k1")
    second = add_outbox(runtime.engine, now, "customer:1", "k2")
    claim_outbox(runtime, "worker-a")
    with runtime.engine.begin() as conn:
        finish(conn, outbox, first, "worker-a", in_flight="sending", status="pending", next_attempt_at=now + LEASE)

    # The first row waits for its retry; the second must not overtake it.
    assert claim_outbox(runtime, "worker-a") == []
    sim_clock.advance(LEASE.total_seconds())
    assert [c.row.id for c in claim_outbox(runtime, "worker-a")] == [first]
    assert second not in {c.row.id for c in claim_outbox(runtime, "worker-b")}


def test_concurrent_claims_take_disjoint_rows(runtime: Runtime, sim_clock: SimulatedClock) -> None:
    """Threads on separate connections claim in small batches until nothing is left: each row exactly once."""
    ids = add_inbox(runtime.engine, sim_clock.now(), 120)
    taken: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def work(worker_id: str) -> None:
        mine: list[int] = []
        try:
            start.wait(timeout=10)
            while batch := claim_inbox(runtime, worker_id, limit=3):
                mine.extend(c.row.id for c in batch)
        except BaseException as exc:
            errors.append(exc)
        taken[worker_id] = mine

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a claiming thread did not finish within 60 s"
    assert errors == []
    everything = [row_id for rows in taken.values() for row_id in rows]
    assert sorted(everything) == ids, "a row was claimed twice or not at all"
    with runtime.engine.connect() as conn:
        owners = {
            locked_by: count
            for locked_by, count in conn.execute(select(inbox.c.locked_by, func.count()).group_by(inbox.c.locked_by))
        }
    assert owners == {w: len(rows) for w, rows in taken.items() if rows}


@pytest.fixture
def pg_runtime(pg_database: str, settings: Settings, secrets_env: None) -> Iterator[Runtime]:
    """A migrated runtime on PostgreSQL only (row locks and SKIP LOCKED are PostgreSQL's)."""
    rt = build_runtime(pg_database, settings=settings, clock=SimulatedClock(START), migrate=False)
    try:
        yield rt
    finally:
        rt.engine.dispose()


def test_postgres_claim_skips_rows_locked_by_another_transaction(pg_runtime: Runtime) -> None:
    """SKIP LOCKED: rows another transaction holds are passed over at once, not waited for."""
    runtime = pg_runtime
    ids = add_inbox(runtime.engine, runtime.clock.now(), 6)
    result: list[list[Claimed]] = []

    with runtime.engine.connect() as holder:
        holder.execute(text("SELECT id FROM inbox WHERE id IN (:a, :b) FOR UPDATE").bindparams(a=ids[0], b=ids[1]))
        thread = threading.Thread(target=lambda: result.append(claim_inbox(runtime, "worker-b")))
        thread.start()
        thread.join(timeout=20)
        blocked = thread.is_alive()
        holder.rollback()
    thread.join(timeout=20)

    assert not blocked, "the claim waited for locked rows instead of skipping them"
    assert [c.row.id for c in result[0]] == ids[2:]
    assert [c.row.id for c in claim_inbox(runtime, "worker-c")] == ids[:2]
