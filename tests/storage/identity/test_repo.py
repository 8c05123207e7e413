"""Key lookups on both databases: bounded per key, live customers only, one shop's keys only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, insert, update

from fieldrelay.storage.db import make_engine
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import customers, identity_keys
from tests.conftest import START
from tests.storage.identity.test_merges import ACCOUNT, OTHER, customer


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


def holders(engine: Engine, key: str, count: int, prefix: str, account: str = ACCOUNT) -> list[str]:
    """``count`` customers indexed under ``key``."""
    ids = [f"{prefix}{i:03d}" for i in range(count)]
    with engine.begin() as conn:
        for cid in ids:
            customer(conn, cid, account)
            conn.execute(insert(identity_keys).values(account_id=account, customer_id=cid, key=key))
    return ids


def lookup(engine: Engine, keys: list[str], cap: int) -> dict[str, list[str]]:
    with engine.begin() as conn:
        return SqlMirror(conn, ACCOUNT, START).customers_by_keys(keys, cap)


def test_a_key_held_by_more_than_the_cap_is_skipped_and_one_at_the_cap_is_read(engine: Engine) -> None:
    crowded = holders(engine, "n:j525|78701", 6, "crowd-")
    exact = holders(engine, "p:+15125550101", 5, "phone-")
    found = lookup(engine, ["n:j525|78701", "p:+15125550101"], cap=5)
    assert set(found) == set(exact)
    assert all(found[cid] == ["p:+15125550101"] for cid in exact)
    assert not set(found) & set(crowded)
    assert set(lookup(engine, ["n:j525|78701"], cap=6)) == set(crowded)


def test_merged_away_customers_and_another_shops_keys_are_not_candidates(engine: Engine) -> None:
    live, gone = holders(engine, "e:pat@example.com", 2, "mine-")
    holders(engine, "e:pat@example.com", 3, "theirs-", account=OTHER)
    with engine.begin() as conn:
        conn.execute(update(customers).where(customers.c.id == gone).values(merged_into=live))
    assert lookup(engine, ["e:pat@example.com", "a:unheld"], cap=2) == {live: ["e:pat@example.com"]}
    assert lookup(engine, [], cap=2) == {}
