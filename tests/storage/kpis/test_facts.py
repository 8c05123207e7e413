"""The Reports KPIs' kept facts: triggers mark a customer whenever a row a fact is made of changes, the worker remakes
the marked customers' facts, and the figures are the same whether read from kept facts or worked out from the rows —
after a late (out-of-order) message or response, a replayed change, a merge and its undo."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.kpi_facts import EVERY, FactsKeeper
from fieldrelay.reports.trends import kpi_figures
from fieldrelay.runtime import Runtime
from fieldrelay.storage.identity.merges import merge_customers, unmerge
from fieldrelay.storage.kpis.facts import refresh_all
from fieldrelay.storage.kpis.tables import kpi_dirty, kpi_facts
from fieldrelay.storage.tables import deals, messages
from tests.storage.kpi_rows import ACCOUNT, KpiShop

MIN, DAY = timedelta(minutes=1), timedelta(days=1)


def _figures(engine: Engine, now: datetime, **narrow: str) -> list[Any]:
    """Everything the Reports page shows of 7 and 30 days: figures, trend points and splits."""
    with engine.connect() as conn:
        found = [kpi_figures(conn, ACCOUNT, now, days, **narrow) for days in (7, 30)]
    return [(f.as_json(), [(t.value, t.count, t.points, t.groups) for t in f.trends]) for f in found]


def _marks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(kpi_dirty)).scalar_one())


def _kept(engine: Engine) -> dict[tuple[str, str], tuple[str, float | None, int | None]]:
    f = kpi_facts.c
    with engine.connect() as conn:
        rows = conn.execute(select(f.kind, f.subject_id, f.customer_id, f.seconds, f.hit)).all()
    return {(kind, subject): (customer, seconds, hit) for kind, subject, customer, seconds, hit in rows}


def _refresh(engine: Engine) -> int:
    with engine.begin() as conn:
        return refresh_all(conn, ACCOUNT)


def _every(engine: Engine, now: datetime) -> list[Any]:
    """The figures of 7 and 30 days, whole and narrowed to a technician and to a lead source."""
    return _figures(engine, now) + _figures(engine, now, technician="Ana") + _figures(engine, now, source="yelp")


def _same_read_live_and_kept(engine: Engine, now: datetime) -> list[Any]:
    """The figures worked out live for the marked customers equal those read from their remade facts."""
    assert _marks(engine) > 0
    live = _every(engine, now)
    _refresh(engine)
    assert _marks(engine) == 0
    kept = _every(engine, now)
    assert kept == live
    return kept


def _history(shop: KpiShop, now: datetime) -> dict[str, str]:
    return {
        "lead": shop.lead(now - 2 * DAY, 4 * MIN, "yelp"),
        "unanswered": shop.lead(now - 3 * DAY, None, "google"),
        "job": shop.job(now - 1 * DAY, ["Ana"], touched_after=20 * MIN, paid_after=MIN),
        "other": shop.job(now - 5 * DAY, ["Ana", "Ben"], touched_after=6 * MIN, paid_after=MIN, review_clicked=True),
        "estimate": shop.estimate(now - 4 * DAY, 3 * 60 * MIN),
    }


def test_every_kind_of_fact_is_kept_and_reads_as_the_rows_do(runtime: Runtime, clock: SimulatedClock) -> None:
    now, shop = clock.now(), KpiShop(runtime.engine)
    _history(shop, now)
    _same_read_live_and_kept(runtime.engine, now)
    kinds = sorted(kind for kind, _ in _kept(runtime.engine))
    assert kinds == ["completion", "completion", "estimate", "lead", "lead", "paid", "paid"]
    assert _refresh(runtime.engine) == 0  # nothing marked: nothing remade


def test_a_late_message_or_response_changes_the_kept_facts(runtime: Runtime, clock: SimulatedClock) -> None:
    now, shop, engine = clock.now(), KpiShop(runtime.engine), runtime.engine
    made = _history(shop, now)
    _refresh(engine)
    before = _figures(engine, now)
    job = made["job"]
    customer = job.removeprefix("j-")
    # Out of order: a text sent 2 minutes after the completion is recorded after the one sent 20 minutes after it,
    # the review ask's click arrives, and the unanswered lead's first response lands.
    with engine.begin() as conn:
        shop.message(conn, customer, job, "job.completed", now - DAY, now - DAY + 2 * MIN, now - DAY + 2 * MIN)
        conn.execute(update(messages).where(messages.c.job_id == job).values(clicked_at=now - 1 * MIN))
        answered = deals.c.customer_id == made["unanswered"]
        conn.execute(update(deals).where(answered).values(first_response_at=now - 3 * DAY + 7 * MIN))
    after = _same_read_live_and_kept(engine, now)
    assert after != before
    week = after[0][0]  # the job's first touch 2 min (was 20), the other's 6: the median of the two is 4
    assert week["followup_lag"]["value"] == 4.0 and week["reviews_per_20_jobs"]["value"] == 20.0
    assert week["speed_to_lead"]["value"] == 5.5
    touch = [s for (kind, _), (owner, s, _) in _kept(engine).items() if kind == "completion" and owner == customer]
    assert touch[0] is not None and abs(touch[0] - 120) < 0.01


def test_a_replayed_change_leaves_the_facts_as_they_were(runtime: Runtime, clock: SimulatedClock) -> None:
    now, shop, engine = clock.now(), KpiShop(runtime.engine), runtime.engine
    made = _history(shop, now)
    _refresh(engine)
    kept, figures = _kept(engine), _every(engine, now)
    for _ in range(2):  # the same change applied again (a redelivered event re-writing what it wrote)
        with engine.begin() as conn:
            answered = deals.c.customer_id == made["lead"]
            conn.execute(update(deals).where(answered).values(first_response_at=now - 2 * DAY + 4 * MIN))
    assert _marks(engine) > 0
    assert _same_read_live_and_kept(engine, now) == figures
    assert _kept(engine) == kept
    assert _refresh(engine) == 0


def test_a_merge_and_its_undo_move_the_facts_with_the_rows(runtime: Runtime, clock: SimulatedClock) -> None:
    now, shop, engine = clock.now(), KpiShop(runtime.engine), runtime.engine
    made = _history(shop, now)
    survivor, merged = made["lead"], made["job"].removeprefix("j-")
    _refresh(engine)
    figures = _every(engine, now)
    with engine.begin() as conn:
        merge_id = merge_customers(
            conn, ACCOUNT, survivor, merged, now=now, decided_by="person:ann", score=0.9, evidence=[{"rule": "phone"}]
        )
    # The completed job, its payment and its texts now belong to the survivor: so do their facts.
    merged_facts = _same_read_live_and_kept(engine, now)
    owners = {kind: customer for (kind, _), (customer, _, _) in _kept(engine).items() if kind in ("paid", "completion")}
    assert survivor in owners.values()
    # The job's first touch is the same text: the figures do not move (the lead's source is the survivor's).
    assert [f[0]["followup_lag"] for f in merged_facts] == [f[0]["followup_lag"] for f in figures]
    with engine.begin() as conn:
        unmerge(conn, ACCOUNT, merge_id, now=now, by="person:bob")
    assert _same_read_live_and_kept(engine, now) == figures
    assert merged in {customer for customer, _, _ in _kept(engine).values()}


def test_the_worker_remakes_marked_facts_at_most_every_few_seconds(runtime: Runtime, clock: SimulatedClock) -> None:
    now, shop, engine = clock.now(), KpiShop(runtime.engine), runtime.engine
    shop.lead(now - DAY, 3 * MIN, "google")
    keeper = FactsKeeper(engine, clock, ACCOUNT)
    assert keeper.refresh() == 1 and _marks(engine) == 0
    shop.lead(now - DAY, 5 * MIN, "yelp")
    assert keeper.refresh() == 0 and _marks(engine) > 0  # not yet due
    clock.advance(EVERY.total_seconds())
    assert keeper.refresh() == 1 and _marks(engine) == 0
