"""Undoable merges on both databases: every kind of row moves, an unmerge restores every table exactly."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Table, insert, select

from fieldrelay.storage.db import make_engine
from fieldrelay.storage.identity.merges import MergeRecord, MergeRefused, merge_customers, unmerge
from fieldrelay.storage.identity.queries import list_merges
from fieldrelay.storage.tables import (
    activities,
    customer_emails,
    customer_equipment,
    customer_fields,
    customer_phones,
    customers,
    deals,
    estimates,
    external_ids,
    identity_keys,
    jobs,
    merge_candidates,
    merges,
    messages,
    outbox,
    service_history,
    timers,
)
from tests.conftest import START

ACCOUNT = "default"
OTHER = "other-shop"
# Every table a merge moves rows of, with the column naming the customer.
OWNED: tuple[tuple[Table, str], ...] = (
    (external_ids, "entity_id"),
    (customer_phones, "customer_id"),
    (customer_emails, "customer_id"),
    (jobs, "customer_id"),
    (estimates, "customer_id"),
    (deals, "customer_id"),
    (activities, "customer_id"),
    (messages, "customer_id"),
    (timers, "customer_id"),
    (outbox, "customer_id"),
    (service_history, "customer_id"),
    (customer_equipment, "customer_id"),
    (identity_keys, "customer_id"),
    (customer_fields, "customer_id"),
)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


def at(minutes: float) -> datetime:
    """A time relative to the test start."""
    return START + timedelta(minutes=minutes)


# --- builders --------------------------------------------------------------------------------------------------------


def add(conn: Connection, table: Table, account: str = ACCOUNT, **values: Any) -> None:
    """Insert one row."""
    conn.execute(insert(table).values(account_id=account, **values))


def customer(conn: Connection, cid: str, account: str = ACCOUNT, **columns: Any) -> str:
    """A customer created a while ago."""
    row = {"lifecycle_stage": "lead", "sms_opted_out": False, "created_at": at(-600), "updated_at": at(-300)}
    add(conn, customers, account, id=cid, **{**row, **columns})
    return cid


def phone(conn: Connection, cid: str, e164: str, account: str = ACCOUNT) -> None:
    """A phone of the customer."""
    add(conn, customer_phones, account, customer_id=cid, e164=e164)


def field(conn: Connection, cid: str, name: str, value: object, source: str, account: str = ACCOUNT) -> None:
    """A CRM field of the customer."""
    add(
        conn,
        customer_fields,
        account,
        customer_id=cid,
        field=name,
        value=value,
        source=source,
        value_at=at(-60),
        updated_at=at(-50),
    )


def candidate(conn: Connection, cid: str, other: str, status: str = "open", account: str = ACCOUNT) -> None:
    """A review pair."""
    decided = {"decided_at": at(-5), "decided_by": "person:ann"} if status != "open" else {}
    add(
        conn,
        merge_candidates,
        account,
        customer_id=cid,
        other_id=other,
        score=0.8,
        rule="name+street",
        evidence=[{"key": "phone"}],
        status=status,
        created_at=at(-30),
        **decided,
    )


def populate(conn: Connection, cid: str, tag: str, account: str = ACCOUNT) -> None:
    """One row of every kind the customer can own, with values unique to ``tag``."""
    job_id, n = f"job-{tag}", zlib.crc32(tag.encode()) % 10_000
    add(conn, external_ids, account, connector="housecallpro", kind="customer", external_id=f"cus_{tag}", entity_id=cid)
    add(conn, external_ids, account, connector="stripe", kind="payment", external_id=f"pi_{tag}", entity_id=cid)
    phone(conn, cid, f"+1512555{n:04d}", account)
    add(conn, customer_emails, account, customer_id=cid, email=f"{tag}@example.com")
    add(conn, identity_keys, account, customer_id=cid, key=f"n:{tag}")
    field(conn, cid, f"note_{tag}", {"text": tag}, "vendor:housecallpro", account)
    stamps = {"created_at": at(-200), "updated_at": at(-100)}
    add(
        conn,
        jobs,
        account,
        id=job_id,
        customer_id=cid,
        status="completed",
        status_at=at(-90),
        technicians=["Ann"],
        total_cents=12_500,
        **stamps,
    )
    add(conn, external_ids, account, connector="housecallpro", kind="job", external_id=f"job_{tag}", entity_id=job_id)
    add(conn, estimates, account, id=f"est-{tag}", customer_id=cid, status="sent", status_at=at(-150), **stamps)
    add(conn, deals, account, id=f"deal-{tag}", customer_id=cid, stage="won", stage_at=at(-80), is_open=False, **stamps)
    add(
        conn,
        activities,
        account,
        customer_id=cid,
        at=at(-90),
        kind="job.completed",
        summary=f"Job {tag} done",
        source="housecallpro",
        applied=True,
        recorded_at=at(-89),
    )
    add(
        conn,
        messages,
        account,
        id=f"msg-{tag}",
        customer_id=cid,
        job_id=job_id,
        channel="sms",
        purpose="review",
        to_address="+15125550000",
        body="Thanks!",
        status="sent",
        scheduled_for=at(-60),
        created_at=at(-61),
    )
    add(
        conn,
        timers,
        account,
        key=f"review:{tag}",
        kind="review",
        customer_id=cid,
        due_at=at(30),
        payload={},
        status="pending",
        attempts=0,
        next_attempt_at=at(30),
        created_at=at(-60),
    )
    add(
        conn,
        outbox,
        account,
        idempotency_key=f"crm:{tag}",
        target="crm",
        kind="upsert",
        ordering_key=f"customer:{cid}",
        customer_id=cid,
        payload={"tag": tag},
        status="pending",
        attempts=0,
        next_attempt_at=at(0),
        created_at=at(-60),
    )
    add(
        conn,
        service_history,
        account,
        customer_id=cid,
        job_id=job_id,
        completed_at=at(-90),
        technicians=["Ann"],
        line_items=["Drain clean"],
        recorded_at=at(-89),
    )
    add(
        conn,
        customer_equipment,
        account,
        customer_id=cid,
        job_id=job_id,
        name="Water heater",
        installed_on=date(2026, 10, 1),
        source="vendor:housecallpro",
        recorded_at=at(-89),
    )


# --- reading back ----------------------------------------------------------------------------------------------------


def rows_of(conn: Connection, cid: str) -> dict[str, list[dict[str, Any]]]:
    """The customer's row and every row naming it, by table, in id order."""
    result = {"customers": [dict(r._mapping) for r in conn.execute(select(customers).where(customers.c.id == cid))]}
    for table, owner in OWNED:
        query = select(table).where(table.c[owner] == cid).order_by(table.c.id)
        result[table.name] = [dict(r._mapping) for r in conn.execute(query)]
    return result


def everything(conn: Connection, account: str = ACCOUNT) -> dict[str, list[dict[str, Any]]]:
    """Every row of the account in the tables a merge touches, except the merges themselves."""
    tables = (customers, merge_candidates, *(t for t, _ in OWNED))
    return {
        t.name: [dict(r._mapping) for r in conn.execute(select(t).where(t.c.account_id == account).order_by(t.c.id))]
        for t in tables
    }


def owner_counts(conn: Connection, cid: str) -> dict[str, int]:
    """How many rows of each table name the customer."""
    return {name: len(rows) for name, rows in rows_of(conn, cid).items() if name != "customers"}


def do_merge(engine: Engine, survivor: str, merged: str, now: datetime = START, account: str = ACCOUNT) -> int:
    """Merge in a transaction of its own."""
    with engine.begin() as conn:
        return merge_customers(
            conn, account, survivor, merged, now=now, decided_by="person:ann", score=0.93, evidence=[{"rule": "phone"}]
        )


def do_unmerge(engine: Engine, merge_id: int, now: datetime = START, account: str = ACCOUNT) -> MergeRecord:
    """Unmerge in a transaction of its own."""
    with engine.begin() as conn:
        return unmerge(conn, account, merge_id, now=now, by="person:bob")


def read(engine: Engine, fn: Any, *args: Any) -> Any:
    """Run a read in a transaction of its own."""
    with engine.begin() as conn:
        return fn(conn, *args)


def moved_of(engine: Engine, merge_id: int) -> dict[str, Any]:
    """The ``moved`` record of a merge."""
    with engine.connect() as conn:
        return dict(conn.execute(select(merges.c.moved).where(merges.c.id == merge_id)).scalar_one())


# --- the round trip --------------------------------------------------------------------------------------------------


def test_merge_moves_every_kind_of_row_and_unmerge_restores_every_table(engine: Engine) -> None:
    with engine.begin() as conn:
        customer(conn, "A", first_name="Pat", last_name="Doe")
        customer(conn, "B", first_name="Patricia", last_name="Doe", city="Austin")
        populate(conn, "A", "a")
        populate(conn, "B", "b")
        before = everything(conn)
        b_counts = owner_counts(conn, "B")
        a_counts = owner_counts(conn, "A")

    merge_id = do_merge(engine, "A", "B", now=at(1))

    with engine.connect() as conn:
        assert set(owner_counts(conn, "B").values()) == {0}, "every row of B moves"
        after = owner_counts(conn, "A")
        assert after == {name: a_counts[name] + b_counts[name] for name in after}
        b_row = conn.execute(select(customers).where(customers.c.id == "B")).one()
        assert (b_row.merged_into, b_row.updated_at) == ("A", at(1))
        a_row = conn.execute(select(customers).where(customers.c.id == "A")).one()
        assert (a_row.first_name, a_row.city, a_row.updated_at) == ("Pat", "Austin", at(1))
        job_link = conn.execute(select(external_ids.c.entity_id).where(external_ids.c.external_id == "job_b"))
        assert job_link.scalar_one() == "job-b", "a job's vendor id still names the job"
    moved = moved_of(engine, merge_id)
    assert moved["rows"]["jobs"] == ["job-b"]
    assert len(moved["rows"]["external_ids"]) == 2, "the customer and payment links, not the job's"
    assert sum(len(ids) for ids in moved["rows"].values()) == sum(b_counts.values())
    assert moved["columns"] == {"city": None}

    record = do_unmerge(engine, merge_id, now=at(2))

    assert (record.id, record.undone_at, record.undone_by) == (merge_id, at(2), "person:bob")
    with engine.connect() as conn:
        assert everything(conn) == before


def test_rows_the_survivor_gained_after_the_merge_stay_with_it(engine: Engine) -> None:
    with engine.begin() as conn:
        customer(conn, "A")
        customer(conn, "B")
        populate(conn, "B", "b")
        one_set = owner_counts(conn, "B")
    merge_id = do_merge(engine, "A", "B")
    with engine.begin() as conn:
        populate(conn, "A", "later")
    do_unmerge(engine, merge_id)
    with engine.connect() as conn:
        assert owner_counts(conn, "A") == owner_counts(conn, "B") == one_set
        assert conn.execute(select(jobs.c.customer_id).where(jobs.c.id == "job-later")).scalar_one() == "A"


def test_a_phone_email_or_key_the_survivor_has_is_not_duplicated_and_comes_back(engine: Engine) -> None:
    with engine.begin() as conn:
        customer(conn, "A")
        customer(conn, "B")
        for cid in ("A", "B"):
            phone(conn, cid, "+15125550142")
            add(conn, customer_emails, customer_id=cid, email="pat@example.com")
            add(conn, identity_keys, customer_id=cid, key="p:+15125550142")
        phone(conn, "B", "+15125550199")
        before = everything(conn)

    merge_id = do_merge(engine, "A", "B")

    with engine.connect() as conn:
        a_phones = conn.execute(select(customer_phones.c.e164).where(customer_phones.c.customer_id == "A")).scalars()
        assert sorted(a_phones) == ["+15125550142", "+15125550199"]
        b_phones = conn.execute(select(customer_phones.c.e164).where(customer_phones.c.customer_id == "B")).scalars()
        assert list(b_phones) == ["+15125550142"], "the shared phone's row stays behind on the merged record"
        assert owner_counts(conn, "B")["customer_emails"] == owner_counts(conn, "B")["identity_keys"] == 1
    moved = moved_of(engine, merge_id)
    assert len(moved["rows"]["customer_phones"]) == 1
    assert moved["rows"]["customer_emails"] == moved["rows"]["identity_keys"] == []

    do_unmerge(engine, merge_id)
    with engine.connect() as conn:
        assert everything(conn) == before


def test_blank_columns_are_filled_opt_out_carried_and_both_undone(engine: Engine) -> None:
    with engine.begin() as conn:
        customer(conn, "A", first_name="Pat", street="", city=None, lead_source="  ")
        customer(conn, "B", first_name="Patricia", street="1 Main St", city="Austin", state="TX", sms_opted_out=True)
        before = everything(conn)

    merge_id = do_merge(engine, "A", "B", now=at(1))

    with engine.connect() as conn:
        a = conn.execute(select(customers).where(customers.c.id == "A")).one()
    assert (a.first_name, a.street, a.city, a.state, a.lead_source) == ("Pat", "1 Main St", "Austin", "TX", "  ")
    assert a.sms_opted_out is True, "either record's STOP stops the merged person"
    moved = moved_of(engine, merge_id)
    assert moved["columns"] == {"street": "", "city": None, "state": None}
    assert moved["sms_opted_out"] is True

    do_unmerge(engine, merge_id, now=at(2))
    with engine.connect() as conn:
        assert everything(conn) == before


def test_an_opt_out_the_survivor_got_after_the_merge_survives_the_undo(engine: Engine) -> None:
    with engine.begin() as conn:
        customer(conn, "A")
        customer(conn, "B", sms_opted_out=True)
    merge_id = do_merge(engine, "A", "B", now=at(1))
    with engine.begin() as conn:  # a STOP reaches the survivor (service/intake/messages.py writes both columns)
        conn.execute(customers.update().where(customers.c.id == "A").values(sms_opted_out=True, updated_at=at(5)))
    do_unmerge(engine, merge_id, now=at(6))
    with engine.connect() as conn:
        assert conn.execute(select(customers.c.sms_opted_out).where(customers.c.id == "A")).scalar_one() is True


def test_customer_fields_keep_the_higher_ranked_source_either_way(engine: Engine) -> None:
    with engine.begin() as conn:
        customer(conn, "A")
        customer(conn, "B")
        field(conn, "A", "brand", "Carrier?", "rule:guess")  # derived (20) loses to B's vendor (30)
        field(conn, "B", "brand", "Trane", "vendor:housecallpro")
        field(conn, "A", "tier", "gold", "person")  # a person's word (40) is kept
        field(conn, "B", "tier", "silver", "vendor:housecallpro")
        field(conn, "A", "city", "Austin", "zip:zipcodes")  # equal ranks keep the survivor's
        field(conn, "B", "city", "Round Rock", "rule:geo")
        field(conn, "B", "gate_code", "1234", "person")  # only B has it: moves
        before = everything(conn)

    merge_id = do_merge(engine, "A", "B", now=at(1))

    with engine.connect() as conn:
        rows = conn.execute(select(customer_fields).where(customer_fields.c.customer_id == "A")).all()
    a_fields = {r.field: (r.value, r.source) for r in rows}
    assert a_fields == {
        "brand": ("Trane", "vendor:housecallpro"),
        "tier": ("gold", "person"),
        "city": ("Austin", "zip:zipcodes"),
        "gate_code": ("1234", "person"),
    }
    moved = moved_of(engine, merge_id)
    assert set(moved["fields"]) == {"brand"}
    assert (moved["fields"]["brand"]["value"], moved["fields"]["brand"]["source"]) == ("Carrier?", "rule:guess")
    assert len(moved["rows"]["customer_fields"]) == 1

    do_unmerge(engine, merge_id, now=at(2))
    with engine.connect() as conn:
        assert everything(conn) == before


@pytest.mark.parametrize("pair", [("B", "A"), ("A", "B")], ids=["merged-first", "survivor-first"])
def test_candidates_are_closed_or_merged_and_reopened(engine: Engine, pair: tuple[str, str]) -> None:
    with engine.begin() as conn:
        for cid in "ABCD":
            customer(conn, cid)
        candidate(conn, *pair)  # the pair merged: becomes merged
        candidate(conn, "B", "C")  # names the merged record: closed
        candidate(conn, "D", "B")  # either side: closed
        candidate(conn, "C", "B", status="distinct")  # already decided: left alone
        candidate(conn, "A", "C")  # names the survivor only: stays open
        candidate(conn, "C", "D")  # unrelated
        before = everything(conn)

    merge_id = do_merge(engine, "A", "B", now=at(1))

    with engine.connect() as conn:
        rows = conn.execute(select(merge_candidates).order_by(merge_candidates.c.id)).all()
    assert [r.status for r in rows] == ["merged", "closed", "closed", "distinct", "open", "open"]
    assert {(r.decided_at, r.decided_by) for r in rows[:3]} == {(at(1), "person:ann")}
    assert [c["id"] for c in moved_of(engine, merge_id)["candidates"]] == [r.id for r in rows[:3]]

    do_unmerge(engine, merge_id, now=at(2))
    with engine.connect() as conn:
        assert everything(conn) == before


def test_a_pair_a_person_called_distinct_is_marked_merged_and_restored(engine: Engine) -> None:
    with engine.begin() as conn:
        customer(conn, "A")
        customer(conn, "B")
        candidate(conn, "A", "B", status="distinct")
        before = everything(conn)
    merge_id = do_merge(engine, "A", "B", now=at(1))
    with engine.connect() as conn:
        assert conn.execute(select(merge_candidates.c.status)).scalar_one() == "merged"
    do_unmerge(engine, merge_id, now=at(2))
    with engine.connect() as conn:
        assert everything(conn) == before


# --- refusals --------------------------------------------------------------------------------------------------------


def test_merges_that_cannot_be_done_are_refused_with_the_reason(engine: Engine) -> None:
    with engine.begin() as conn:
        for cid in "ABC":
            customer(conn, cid)
        customer(conn, "X", account=OTHER)
    cases = [
        ("A", "A", "into itself"),
        ("A", "nobody", "customer nobody does not exist in this account"),
        ("nobody", "A", "customer nobody does not exist in this account"),
        ("A", "X", "customer X does not exist in this account"),
    ]
    for survivor, merged, reason in cases:
        with pytest.raises(MergeRefused, match=reason):
            do_merge(engine, survivor, merged)
    do_merge(engine, "A", "B")
    with pytest.raises(MergeRefused, match="customer B was already merged into A; use that record"):
        do_merge(engine, "C", "B")
    with pytest.raises(MergeRefused, match="customer B was already merged into A"):
        do_merge(engine, "B", "C")
    with engine.connect() as conn:
        assert len(conn.execute(select(merges)).all()) == 1, "a refused merge writes nothing"


def test_unmerges_that_cannot_be_done_are_refused_with_the_reason(engine: Engine) -> None:
    with engine.begin() as conn:
        for cid in "ABD":
            customer(conn, cid)
    merge_id = do_merge(engine, "A", "B")
    with pytest.raises(MergeRefused, match="merge 9999 does not exist in this account"):
        do_unmerge(engine, 9999)
    with pytest.raises(MergeRefused, match=f"merge {merge_id} does not exist in this account"):
        do_unmerge(engine, merge_id, account=OTHER)

    later = do_merge(engine, "D", "A", now=at(1))  # the survivor itself is merged on
    with pytest.raises(
        MergeRefused, match=f"customer A has since been merged into D by merge {later}; undo merge {later} first"
    ):
        do_unmerge(engine, merge_id)

    do_unmerge(engine, later, now=at(2))
    do_unmerge(engine, merge_id, now=at(3))
    with pytest.raises(MergeRefused, match=f"Merge {merge_id} was already undone at .* by person:bob"):
        do_unmerge(engine, merge_id)


def test_an_unmerge_after_the_survivor_was_merged_on_and_back_is_exact(engine: Engine) -> None:
    with engine.begin() as conn:
        for cid, tag in (("A", "a"), ("B", "b"), ("D", "d")):
            customer(conn, cid, city=None if cid != "B" else "Austin")
            populate(conn, cid, tag)
        before = everything(conn)
    first = do_merge(engine, "A", "B", now=at(1))
    second = do_merge(engine, "D", "A", now=at(2))
    do_unmerge(engine, second, now=at(3))
    do_unmerge(engine, first, now=at(4))
    with engine.connect() as conn:
        assert everything(conn) == before


# --- accounts and order ----------------------------------------------------------------------------------------------


def test_another_accounts_rows_are_untouched(engine: Engine) -> None:
    with engine.begin() as conn:
        customer(conn, "A")
        customer(conn, "B")
        populate(conn, "A", "a")
        populate(conn, "B", "b")
        customer(conn, "X", account=OTHER)
        customer(conn, "Y", account=OTHER)
        populate(conn, "X", "xa", account=OTHER)
        populate(conn, "Y", "xb", account=OTHER)
        # Rows of the other shop that name this shop's customers (never written so, but queries must not care).
        add(conn, external_ids, OTHER, connector="hubspot", kind="customer", external_id="stray", entity_id="B")
        phone(conn, "B", "+15125550001", account=OTHER)
        add(conn, identity_keys, OTHER, customer_id="B", key="n:stray")
        candidate(conn, "B", "A", account=OTHER)
        theirs = everything(conn, OTHER)
    merge_id = do_merge(engine, "A", "B")
    with engine.connect() as conn:
        assert everything(conn, OTHER) == theirs
    do_unmerge(engine, merge_id)
    with engine.connect() as conn:
        assert everything(conn, OTHER) == theirs
    assert read(engine, list_merges, OTHER, "A") == []


@pytest.mark.parametrize("undo_first", ["first", "second"])
def test_two_merges_into_one_survivor_undo_in_either_order(engine: Engine, undo_first: str) -> None:
    with engine.begin() as conn:
        customer(conn, "A")
        customer(conn, "B", city="Austin", sms_opted_out=True)
        customer(conn, "C", city="Round Rock", sms_opted_out=True)
        populate(conn, "A", "a")
        populate(conn, "B", "b")
        populate(conn, "C", "c")
        for cid in ("B", "C"):  # B and C share a phone A lacks
            phone(conn, cid, "+15125550777")
        field(conn, "B", "brand", "Carrier?", "rule:guess")  # A lacks it: B's row moves, then C's better value wins
        field(conn, "C", "brand", "Trane", "vendor:housecallpro")
        field(conn, "A", "tier", "bronze", "rule:tiering")  # B's vendor value replaces it, then C's person value
        field(conn, "B", "tier", "silver", "vendor:housecallpro")
        field(conn, "C", "tier", "gold", "person")
        before = everything(conn)
        b_before = rows_of(conn, "B")

    first = do_merge(engine, "A", "B", now=at(1))
    second = do_merge(engine, "A", "C", now=at(2))
    with engine.connect() as conn:
        assert owner_counts(conn, "C")["customer_phones"] == 1, "the shared phone stays on C: A has B's"
    assert moved_of(engine, second)["fields"]["brand"]["value"] == "Carrier?"

    if undo_first == "first":
        do_unmerge(engine, first, now=at(3))
        with engine.connect() as conn:
            assert rows_of(conn, "B") == b_before, "B comes back exactly as it was"
            a = conn.execute(select(customers).where(customers.c.id == "A")).one()
            assert (a.city, a.sms_opted_out) == ("Round Rock", True), "C, still merged in, fills what B took back"
            a_phones = conn.execute(select(customer_phones.c.e164).where(customer_phones.c.customer_id == "A"))
            assert "+15125550777" in list(a_phones.scalars())
            fields = conn.execute(select(customer_fields).where(customer_fields.c.customer_id == "A")).all()
            assert {r.field: r.value for r in fields if r.field in ("brand", "tier")} == {
                "brand": "Trane",
                "tier": "gold",
            }
        do_unmerge(engine, second, now=at(4))
    else:
        do_unmerge(engine, second, now=at(3))
        do_unmerge(engine, first, now=at(4))
    with engine.connect() as conn:
        assert everything(conn) == before, "after both undos, in either order, every row is as it was"


# --- history ---------------------------------------------------------------------------------------------------------


def test_merge_history_lists_both_roles_newest_first(engine: Engine) -> None:
    with engine.begin() as conn:
        for cid in "ABCD":
            customer(conn, cid)
    first = do_merge(engine, "A", "B", now=at(1))
    second = do_merge(engine, "C", "A", now=at(2))
    do_unmerge(engine, second, now=at(3))
    do_merge(engine, "C", "D", now=at(4))

    history = read(engine, list_merges, ACCOUNT, "A")

    assert [h["id"] for h in history] == [second, first]
    assert history[0] == {
        "id": second,
        "survivor_id": "C",
        "merged_id": "A",
        "score": 0.93,
        "decided_by": "person:ann",
        "merged_at": at(2).isoformat().replace("+00:00", "Z"),
        "undone_at": at(3).isoformat().replace("+00:00", "Z"),
        "undone_by": "person:bob",
        "evidence": [{"rule": "phone"}],
    }
    assert (history[1]["survivor_id"], history[1]["merged_id"], history[1]["undone_at"]) == ("A", "B", None)
    assert [h["id"] for h in read(engine, list_merges, ACCOUNT, "B")] == [first]
    assert read(engine, list_merges, ACCOUNT, "nobody") == []
