"""The error queue: dismissing each kind, filtering by source and age, one error's detail, open counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.runtime import Runtime
from fieldrelay.storage import queries
from fieldrelay.storage.ops import errors
from fieldrelay.storage.tables import inbox, messages, outbox, timers
from tests.storage.error_rows import ACCOUNT, add_dead_outbox, add_dead_timer, add_inbox_error


def _status_and_error(runtime: Runtime, error_id: str) -> tuple[str, str]:
    kind, row_id = errors.parse_error_id(error_id) or ("", 0)
    table = {"inbox": inbox, "timer": timers, "outbox": outbox}[kind]
    with runtime.engine.connect() as conn:
        row = conn.execute(select(table.c.status, table.c.last_error).where(table.c.id == row_id)).one()
    return row.status, row.last_error


def test_dismiss_closes_each_kind_for_good(runtime: Runtime, clock: SimulatedClock) -> None:
    now = clock.now()
    inbox_id = add_inbox_error(runtime.engine, now - timedelta(hours=3))
    timer_id = add_dead_timer(runtime.engine, now - timedelta(hours=2))
    outbox_id, message_id = add_dead_outbox(runtime.engine, now - timedelta(hours=1))

    with runtime.engine.begin() as conn:
        assert errors.dismiss(conn, ACCOUNT, inbox_id, "dana", "vendor test event")
        assert errors.dismiss(conn, ACCOUNT, timer_id, None, None)
        assert errors.dismiss(conn, ACCOUNT, outbox_id, "sam", None)

    assert _status_and_error(runtime, inbox_id) == (
        "dismissed",
        "job names no customer — dismissed by dana: vendor test event",
    )
    assert _status_and_error(runtime, timer_id) == ("dismissed", "handler blew up — dismissed by a person")
    assert _status_and_error(runtime, outbox_id) == ("dismissed", "not a mobile number — dismissed by sam")
    with runtime.engine.connect() as conn:
        assert conn.execute(select(messages.c.status).where(messages.c.id == message_id)).scalar_one() == "cancelled"
        assert errors.list_errors(conn, ACCOUNT) == []
        assert errors.open_error_counts(conn, ACCOUNT) == {}
        assert queries.readiness(conn, now) == {"inbox_pending": 0, "outbox_pending": 0, "timers_due": 0}

    clock.advance(24 * 3600)
    assert runtime.new_worker().drain(timeout_seconds=30)
    for error_id in (inbox_id, timer_id, outbox_id):
        assert _status_and_error(runtime, error_id)[0] == "dismissed", f"{error_id} was picked up by a worker"

    with runtime.engine.begin() as conn:
        assert not errors.dismiss(conn, ACCOUNT, outbox_id, "sam", None), "dismissed twice"
        assert not errors.retry(conn, ACCOUNT, outbox_id, now), "a dismissed error is not open"
        assert not errors.dismiss(conn, ACCOUNT, "outbox-9999", None, None)
        assert not errors.dismiss(conn, ACCOUNT, "nonsense", None, None)


def test_filters_by_source_and_age(runtime: Runtime, clock: SimulatedClock) -> None:
    now = clock.now()
    old_hcp = add_inbox_error(runtime.engine, now - timedelta(days=2), connector="housecallpro", status="dead")
    new_jobber = add_inbox_error(runtime.engine, now - timedelta(minutes=10), connector="jobber")
    timer_id = add_dead_timer(runtime.engine, now - timedelta(hours=3))
    sms_id, _ = add_dead_outbox(runtime.engine, now - timedelta(hours=1))
    email_id, _ = add_dead_outbox(runtime.engine, now - timedelta(minutes=5), target="email")

    def ids(
        kind: str | None = None,
        source: str | None = None,
        older_than: timedelta | None = None,
        target: str | None = None,
    ) -> list[str]:
        with runtime.engine.connect() as conn:
            items = errors.list_errors(
                conn, ACCOUNT, kind, source=source, target=target, older_than=older_than, now=now
            )
        return [item.id for item in items]

    assert ids() == [old_hcp, timer_id, sms_id, new_jobber, email_id]
    assert ids(source="jobber") == [new_jobber]
    assert ids(source="sms") == [sms_id]
    assert ids(source="review_request") == [timer_id]
    assert ids(kind="inbox", source="sms") == []
    assert ids(target="email") == [email_id]
    assert ids(target="review_request") == [], "a target names deliveries, not timers"
    assert ids(target="email", kind="inbox") == [] and ids(target="email", source="sms") == []
    assert ids(older_than=timedelta(hours=2)) == [old_hcp, timer_id]
    assert ids(older_than=timedelta(hours=1)) == [old_hcp, timer_id, sms_id], "exactly that old is kept"
    assert ids(kind="outbox", older_than=timedelta(minutes=30)) == [sms_id]
    with runtime.engine.connect() as conn, pytest.raises(ValueError, match="needs now"):
        errors.list_errors(conn, ACCOUNT, older_than=timedelta(hours=1))
    with runtime.engine.connect() as conn:
        assert errors.open_error_counts(conn, ACCOUNT) == {
            ("inbox", "housecallpro"): 1,
            ("inbox", "jobber"): 1,
            ("timer", "review_request"): 1,
            ("outbox", "sms"): 1,
            ("outbox", "email"): 1,
        }


def test_parse_age_refuses_what_is_no_age() -> None:
    assert errors.parse_age("2h") == timedelta(hours=2)
    assert errors.parse_age(" 7d ") == timedelta(days=7)
    for bad in ("2 hours", "", "-30m", "5s"):
        with pytest.raises(ValueError):
            errors.parse_age(bad)


def test_detail_lists_delivery_attempts_oldest_first(runtime: Runtime, clock: SimulatedClock) -> None:
    now = clock.now()
    outbox_id, _ = add_dead_outbox(runtime.engine, now - timedelta(hours=1), attempts=3)
    inbox_id = add_inbox_error(runtime.engine, now - timedelta(hours=2))
    with runtime.engine.connect() as conn:
        detail = errors.error_detail(conn, ACCOUNT, outbox_id)
        inbox_detail = errors.error_detail(conn, ACCOUNT, inbox_id)
        assert errors.error_detail(conn, ACCOUNT, "timer-1") is None
    assert detail is not None and inbox_detail is not None
    assert (detail["id"], detail["kind"], detail["source"], detail["tries"]) == (outbox_id, "outbox", "sms", 3)
    assert [(a["attempt"], a["duration_ms"], a["status_code"], a["detail"]) for a in detail["attempts"]] == [
        (1, 40, None, "try 1"),
        (2, 80, None, "try 2"),
        (3, 120, 400, "try 3"),
    ]
    assert detail["attempts"][0]["started_at"] == "2026-11-02T14:01:00Z"
    assert detail["attempts"][0]["outcome"] == "failed"
    assert (inbox_detail["connector"], inbox_detail["event_type"], inbox_detail["attempts"]) == (
        "housecallpro",
        "job.created",
        [],
    )


def test_oldest_pending_ages(runtime: Runtime, clock: SimulatedClock) -> None:
    now = clock.now()
    with runtime.engine.connect() as conn:
        assert queries.oldest_pending_ages(conn, now) == {"inbox": 0.0, "timers": 0.0, "outbox": 0.0}
    add_inbox_error(runtime.engine, now - timedelta(minutes=5), status="pending")
    add_inbox_error(runtime.engine, now - timedelta(minutes=2), connector="jobber", status="pending")
    add_dead_timer(runtime.engine, now - timedelta(hours=1))
    with runtime.engine.begin() as conn:
        for key, due in (("due", now - timedelta(seconds=90)), ("later", now + timedelta(hours=1))):
            conn.execute(
                insert(timers).values(
                    account_id=ACCOUNT,
                    key=key,
                    kind="review_request",
                    due_at=due,
                    payload={},
                    status="pending",
                    attempts=0,
                    next_attempt_at=due,
                    created_at=now - timedelta(days=1),
                )
            )
    with runtime.engine.connect() as conn:
        assert queries.oldest_pending_ages(conn, now) == {"inbox": 300.0, "timers": 90.0, "outbox": 0.0}


def test_an_unknown_kind_is_refused_by_name(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn, pytest.raises(ValueError, match="unknown kind 'foo' \\(kinds: inbox, timer"):
        errors.list_errors(conn, ACCOUNT, "foo")


def test_errors_of_customers_are_their_timer_and_outbox_rows(runtime: Runtime, clock: SimulatedClock) -> None:
    outbox_id, message_id = add_dead_outbox(runtime.engine, clock.now() - timedelta(hours=2))
    add_dead_outbox(runtime.engine, clock.now() - timedelta(hours=1), target="email")  # someone else's
    timer_id = add_dead_timer(runtime.engine, clock.now())
    customer_id = f"c-{message_id}"
    with runtime.engine.begin() as conn:
        conn.execute(outbox.update().where(outbox.c.id == int(outbox_id[7:])).values(customer_id=customer_id))
        conn.execute(timers.update().where(timers.c.id == int(timer_id[6:])).values(customer_id=customer_id))
    with runtime.engine.connect() as conn:
        found = errors.errors_of_customers(conn, ACCOUNT, [customer_id])
    assert [item.id for item in found] == [outbox_id, timer_id]
