"""Webhook intake with a batch connector: each item stored once, redeliveries counted, unreadable parts kept."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.engine.intake import Intake, prepare, receive, store
from fieldrelay.runtime import Runtime
from fieldrelay.service.ports import Identified, Parsed, ParseError, Received, TemporaryFailure, WebhookRequest
from fieldrelay.storage.ops.errors import list_errors
from fieldrelay.storage.tables import inbox
from tests.conftest import START

HEADERS = {
    "content-type": "application/json",
    "user-agent": "FakeVendor/1.0",
    "authorization": "Bearer do-not-store",
    "x-fake-signature": "do-not-store-either",
}


class BatchConnector:
    """A vendor that posts newline-separated JSON items ``{"id", "type"}``; a body starting with "!" is no batch."""

    name = "fake"
    rate_limit_per_minute: int | None = None
    kept_headers: tuple[str, ...] = ()

    def __init__(self, parse_outcomes: Sequence[BaseException | Parsed] = ()) -> None:
        self.parse_outcomes = list(parse_outcomes)
        self.parsed: list[bytes] = []

    def verify(self, request: WebhookRequest, now: datetime) -> str | None:
        """Every test delivery is authentic."""
        return None

    def split(self, body: bytes) -> Sequence[bytes]:
        """The non-empty lines of the body."""
        if body.startswith(b"!"):
            raise ParseError("not a batch this vendor sends")
        return tuple(line for line in body.split(b"\n") if line.strip())

    def identify(self, body: bytes) -> Identified:
        """The item's own id and type."""
        try:
            data = json.loads(body)
            return Identified(dedupe_key=f"id:{data['id']}", event_type=str(data["type"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ParseError(f"unreadable item: {exc}") from exc

    def parse(self, body: bytes, received: Received | None = None) -> Parsed:
        """The next scripted outcome; by default an event fieldrelay does not use."""
        self.parsed.append(body)
        outcome = self.parse_outcomes.pop(0) if self.parse_outcomes else None
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome or Parsed(event_type="thing.happened", ignored="not used in this test")


def item(item_id: str, event_type: str = "thing.happened") -> bytes:
    """One batch item."""
    return json.dumps({"id": item_id, "type": event_type}).encode()


def batch(*items: bytes) -> bytes:
    """A delivery holding ``items``."""
    return b"\n".join(items)


def raw_key(body: bytes) -> str:
    """The dedupe key intake gives a body it could not identify."""
    return "raw:" + hashlib.sha256(body).hexdigest()[:40]


def inbox_rows(runtime: Runtime) -> list[Any]:
    """Every inbox row, oldest first."""
    with runtime.engine.connect() as conn:
        return list(conn.execute(select(inbox).order_by(inbox.c.id)).all())


def by_key(runtime: Runtime) -> dict[str, Any]:
    """Inbox rows by dedupe key."""
    return {r.dedupe_key: r for r in inbox_rows(runtime)}


def deliver(runtime: Runtime, connector: BatchConnector, body: bytes, now: datetime = START) -> Intake:
    """Store a verified delivery as the webhook route does."""
    return receive(runtime.engine, connector, HEADERS, body, now, runtime.settings.account_id)


# --- prepare -------------------------------------------------------------------------------------------


def test_prepare_makes_one_pending_row_per_item_and_keeps_no_credentials() -> None:
    rows = prepare(BatchConnector(), HEADERS, batch(item("a"), item("b", "other.thing"), item("c")), START, "shop-1")

    assert [(r["dedupe_key"], r["event_type"], r["body"]) for r in rows] == [
        ("id:a", "thing.happened", item("a")),
        ("id:b", "other.thing", item("b", "other.thing")),
        ("id:c", "thing.happened", item("c")),
    ]
    for row in rows:
        assert row["headers"] == {"content-type": "application/json", "user-agent": "FakeVendor/1.0"}
        assert (row["account_id"], row["connector"], row["status"], row["last_error"]) == (
            "shop-1",
            "fake",
            "pending",
            None,
        )
        assert (row["received_at"], row["next_attempt_at"], row["deliveries"], row["attempts"]) == (START, START, 1, 0)


def test_prepare_keeps_an_unidentifiable_item_as_an_error_row() -> None:
    bad = b'{"no id": true}'
    rows = prepare(BatchConnector(), HEADERS, batch(item("a"), bad), START, "shop-1")
    assert [r["status"] for r in rows] == ["pending", "error"]
    assert (rows[1]["dedupe_key"], rows[1]["event_type"], rows[1]["body"]) == (raw_key(bad), None, bad)
    assert rows[1]["last_error"].startswith("unreadable item:")


def test_prepare_keeps_an_unsplittable_body_as_one_error_row() -> None:
    body = b"!" + batch(item("a"), item("b"))
    (row,) = prepare(BatchConnector(), HEADERS, body, START, "shop-1")
    assert (row["status"], row["body"], row["dedupe_key"], row["event_type"], row["last_error"]) == (
        "error",
        body,
        raw_key(body),
        None,
        "not a batch this vendor sends",
    )


# --- store and receive ---------------------------------------------------------------------------------


def test_new_items_are_accepted_and_stored_once_each(runtime: Runtime) -> None:
    assert deliver(runtime, BatchConnector(), batch(item("a"), item("b"), item("c"))) is Intake.ACCEPTED
    rows = inbox_rows(runtime)
    assert [(r.dedupe_key, r.status, r.deliveries, r.connector) for r in rows] == [
        ("id:a", "pending", 1, "fake"),
        ("id:b", "pending", 1, "fake"),
        ("id:c", "pending", 1, "fake"),
    ]


def test_a_batch_of_known_items_is_a_duplicate_and_each_delivery_is_counted(runtime: Runtime) -> None:
    body = batch(item("a"), item("b"), item("c"))
    deliver(runtime, BatchConnector(), body)

    assert deliver(runtime, BatchConnector(), body, START + timedelta(minutes=1)) is Intake.DUPLICATE
    assert deliver(runtime, BatchConnector(), batch(item("c"), item("a"))) is Intake.DUPLICATE

    rows = by_key(runtime)
    assert {k: r.deliveries for k, r in rows.items()} == {"id:a": 3, "id:b": 2, "id:c": 3}
    assert {r.received_at for r in rows.values()} == {START}, "a redelivery must not rewrite the first receipt"


def test_a_batch_with_one_new_item_among_known_ones_is_accepted(runtime: Runtime) -> None:
    deliver(runtime, BatchConnector(), batch(item("a"), item("b")))
    assert deliver(runtime, BatchConnector(), batch(item("a"), item("d"), item("b"))) is Intake.ACCEPTED
    assert {k: r.deliveries for k, r in by_key(runtime).items()} == {"id:a": 2, "id:b": 2, "id:d": 1}


@pytest.mark.parametrize("position", [0, 1, 2])
def test_one_unreadable_item_among_good_ones_is_stored_as_an_error(runtime: Runtime, position: int) -> None:
    bad = b"{not json"
    items = [item("a"), item("b")]
    items.insert(position, bad)

    assert deliver(runtime, BatchConnector(), batch(*items)) is Intake.MALFORMED

    rows = by_key(runtime)
    assert (rows["id:a"].status, rows["id:b"].status) == ("pending", "pending")
    broken = rows[raw_key(bad)]
    assert (broken.status, broken.event_type, broken.body) == ("error", None, bad)
    assert broken.last_error.startswith("unreadable item:")
    with runtime.engine.connect() as conn:
        (error,) = list_errors(conn, runtime.settings.account_id)
    assert (error.id, error.source, error.summary) == (f"inbox-{broken.id}", "fake", "webhook (unreadable)")

    assert deliver(runtime, BatchConnector(), batch(*items)) is Intake.DUPLICATE
    assert {r.deliveries for r in inbox_rows(runtime)} == {2}


def test_a_body_split_cannot_read_is_stored_whole_as_one_error_row(runtime: Runtime) -> None:
    body = b"!" + batch(item("a"), item("b"))
    assert deliver(runtime, BatchConnector(), body) is Intake.MALFORMED

    (row,) = inbox_rows(runtime)
    assert (row.status, row.body, row.dedupe_key, row.last_error) == (
        "error",
        body,
        raw_key(body),
        "not a batch this vendor sends",
    )
    assert deliver(runtime, BatchConnector(), body) is Intake.DUPLICATE
    (row,) = inbox_rows(runtime)
    assert row.deliveries == 2


def test_store_writes_in_the_callers_transaction_and_rolls_back_with_it(runtime: Runtime) -> None:
    rows = prepare(BatchConnector(), HEADERS, batch(item("a"), item("b")), START, runtime.settings.account_id)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), runtime.engine.begin() as conn:
        assert store(conn, rows) is Intake.ACCEPTED
        raise Abort
    assert inbox_rows(runtime) == []

    with runtime.engine.begin() as conn:
        assert store(conn, rows) is Intake.ACCEPTED
    assert len(inbox_rows(runtime)) == 2


def test_the_worker_parses_each_stored_item_of_a_batch_once(runtime: Runtime) -> None:
    fake = BatchConnector()
    runtime.inbound["fake"] = fake
    deliver(runtime, fake, batch(item("a"), b"{broken", item("b")))

    assert runtime.new_worker("intake").drain(timeout_seconds=30)

    assert sorted(fake.parsed) == sorted([item("a"), item("b")]), "the error row must not be parsed"
    assert sorted((r.status, r.event_type) for r in inbox_rows(runtime)) == [
        ("error", None),
        ("ignored", "thing.happened"),
        ("ignored", "thing.happened"),
    ]


# --- a vendor API the parse needs is down for now ------------------------------------------------------


def test_a_temporary_failure_in_parse_leaves_the_row_pending_no_sooner_than_asked(runtime: Runtime) -> None:
    clock = runtime.clock
    assert isinstance(clock, SimulatedClock)
    fake = BatchConnector([TemporaryFailure("vendor API throttled", retry_after_seconds=600)])
    runtime.inbound["fake"] = fake
    assert deliver(runtime, fake, item("a")) is Intake.ACCEPTED

    assert runtime.new_worker("intake").drain(timeout_seconds=30)

    (row,) = inbox_rows(runtime)
    assert (row.status, row.attempts, row.locked_by) == ("pending", 1, None)
    assert row.next_attempt_at >= START + timedelta(seconds=600)
    assert row.last_error.startswith("temporary:")
    assert row.last_error == "temporary: vendor API throttled"
    assert len(fake.parsed) == 1
    with runtime.engine.connect() as conn:
        assert list_errors(conn, runtime.settings.account_id) == [], "a temporary failure needs no person"

    clock.advance((row.next_attempt_at - clock.now()).total_seconds())
    assert runtime.new_worker("intake").drain(timeout_seconds=30)
    (row,) = inbox_rows(runtime)
    assert (row.status, row.last_error) == ("ignored", "not used in this test")
    assert len(fake.parsed) == 2
