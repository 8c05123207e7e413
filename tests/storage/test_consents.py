"""SqlMirror consent per address and channel on both databases: newer wins, accounts apart, concurrent first inserts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, text

from fieldrelay.runtime import Runtime
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.tables import consents
from tests.conftest import START

PHONE = "+15125550142"
EMAIL = "pat.doe@example.com"
ACCOUNT = "default"


def at(minutes: float) -> datetime:
    """A provider time relative to the test start."""
    return START + timedelta(minutes=minutes)


def in_tx(engine: Engine, fn: Callable[[SqlMirror], Any], account: str = ACCOUNT, now: datetime = START) -> Any:
    """Run ``fn`` on a SqlMirror in a transaction of its own."""
    with engine.begin() as conn:
        return fn(SqlMirror(conn, account, now))


def opted_out(engine: Engine, channel: str = "sms", address: str = PHONE, account: str = ACCOUNT) -> bool:
    """What the store answers for an address."""
    return bool(in_tx(engine, lambda s: s.is_opted_out(channel, address), account))


def set_consent(
    engine: Engine, out: bool, minutes: float, channel: str = "sms", address: str = PHONE, reason: str = "STOP"
) -> bool:
    """Record one consent change in a transaction of its own."""
    return bool(in_tx(engine, lambda s: s.set_consent(channel, address, out, reason, "twilio", at(minutes))))


def consent_rows(engine: Engine) -> list[Any]:
    """Every consent row."""
    with engine.connect() as conn:
        return list(conn.execute(select(consents).order_by(consents.c.id)).all())


def test_an_address_never_seen_is_not_opted_out(runtime: Runtime) -> None:
    assert opted_out(runtime.engine) is False
    assert opted_out(runtime.engine, "email", EMAIL) is False


def test_the_first_change_is_recorded_with_its_details(runtime: Runtime) -> None:
    engine = runtime.engine
    recorded_now = START + timedelta(seconds=7)
    applied = in_tx(engine, lambda s: s.set_consent("sms", PHONE, True, "STOP", "twilio", at(-5)), now=recorded_now)

    assert applied is True
    assert opted_out(engine) is True
    (row,) = consent_rows(engine)
    assert (row.account_id, row.channel, row.address, row.opted_out, row.reason, row.source) == (
        ACCOUNT,
        "sms",
        PHONE,
        True,
        "STOP",
        "twilio",
    )
    assert (row.changed_at, row.recorded_at) == (at(-5), recorded_now)


def test_a_newer_change_wins_and_an_older_one_is_refused(runtime: Runtime) -> None:
    engine = runtime.engine
    assert set_consent(engine, True, -10) is True
    assert set_consent(engine, False, -20, reason="START") is False, "an older START must not undo a newer STOP"
    assert opted_out(engine) is True
    (row,) = consent_rows(engine)
    assert (row.opted_out, row.reason, row.changed_at) == (True, "STOP", at(-10))

    assert set_consent(engine, False, -1, reason="START") is True
    assert opted_out(engine) is False
    (row,) = consent_rows(engine)
    assert (row.opted_out, row.reason, row.changed_at) == (False, "START", at(-1))

    assert set_consent(engine, True, -5) is False, "an older STOP must not undo a newer START"
    assert opted_out(engine) is False


def test_a_change_at_the_same_instant_as_the_recorded_one_is_applied(runtime: Runtime) -> None:
    engine = runtime.engine
    assert set_consent(engine, True, -10) is True
    assert set_consent(engine, False, -10, reason="START") is True
    assert opted_out(engine) is False
    assert len(consent_rows(engine)) == 1


def test_channels_and_addresses_are_kept_apart(runtime: Runtime) -> None:
    engine = runtime.engine
    set_consent(engine, True, -5, channel="email", address=EMAIL, reason="unsubscribe")
    assert opted_out(engine, "email", EMAIL) is True
    assert opted_out(engine, "sms", EMAIL) is False
    assert opted_out(engine, "sms", PHONE) is False
    assert opted_out(engine, "email", "other@example.com") is False


def test_accounts_are_kept_apart(runtime: Runtime) -> None:
    engine = runtime.engine
    set_consent(engine, True, -5)
    assert opted_out(engine, account="other-shop") is False
    applied = in_tx(engine, lambda s: s.set_consent("sms", PHONE, False, "START", "twilio", at(-50)), "other-shop")
    assert applied is True, "another shop's newer STOP must not refuse this shop's change"
    assert opted_out(engine) is True
    assert opted_out(engine, account="other-shop") is False
    assert sorted(r.account_id for r in consent_rows(engine)) == [ACCOUNT, "other-shop"]


def test_a_long_reason_is_cut_to_the_column(runtime: Runtime) -> None:
    set_consent(runtime.engine, True, -5, reason="x" * 500)
    (row,) = consent_rows(runtime.engine)
    assert row.reason == "x" * 200


# --- two workers recording the first change for one address at the same moment ------------------------


def _wait_until_blocked(engine: Engine, holder: threading.Thread, pid: list[int]) -> None:
    """Return once the second transaction waits on the first one's lock (PostgreSQL) or is held back (SQLite)."""
    if engine.dialect.name != "postgresql":
        # BEGIN IMMEDIATE: the second transaction cannot even start while the first holds the write lock.
        holder.join(timeout=0.5)
        assert holder.is_alive(), "the second transaction finished while the first still held the write lock"
        return
    deadline = time.monotonic() + 20
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            if pid:
                waiting = conn.execute(
                    text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"), {"pid": pid[0]}
                ).scalar_one()
                if waiting:
                    return
            conn.rollback()
            time.sleep(0.01)
    pytest.fail("the second insert never waited on the first transaction")


@pytest.mark.parametrize(
    ("second_minutes", "second_applied", "final_opted_out"),
    [
        pytest.param(-20, False, True, id="second-is-older"),
        pytest.param(-1, True, False, id="second-is-newer"),
    ],
)
def test_two_concurrent_first_changes_the_second_sees_the_first(
    runtime: Runtime, second_minutes: float, second_applied: bool, final_opted_out: bool
) -> None:
    engine = runtime.engine
    result: list[bool] = []
    errors: list[BaseException] = []
    pid: list[int] = []

    def second() -> None:
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    pid.append(int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one()))
                store = SqlMirror(conn, ACCOUNT, START)
                result.append(store.set_consent("sms", PHONE, False, "START", "twilio", at(second_minutes)))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    first: Connection
    with engine.connect() as first:
        with first.begin():
            assert SqlMirror(first, ACCOUNT, START).set_consent("sms", PHONE, True, "STOP", "twilio", at(-10))
            worker = threading.Thread(target=second, daemon=True)
            worker.start()
            _wait_until_blocked(engine, worker, pid)
        # the first transaction commits here, releasing the second
        worker.join(timeout=60)

    assert not worker.is_alive(), "the second transaction never finished"
    assert errors == [], f"the second change raised instead of reading the first one's row: {errors!r}"
    assert result == [second_applied]
    assert opted_out(engine) is final_opted_out
    (row,) = consent_rows(engine)
    assert row.changed_at == (at(second_minutes) if second_applied else at(-10))
