"""What the route tests share: the API token header, posting a webhook, running the worker, the "never lost" check.

The test client itself is the ``client`` fixture in tests/conftest.py.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, insert, select

from fieldrelay.runtime import Runtime
from fieldrelay.service.ports import InboundConnector, ParseError
from fieldrelay.storage.ops.errors import list_errors
from fieldrelay.storage.sequences.tables import tasks
from fieldrelay.storage.tables import customers, inbox
from tests.conftest import API_TOKEN, START
from tests.helpers import signed

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
# Why an email receipt may still be pending: its message is not known yet, so it is retried (TemporaryFailure).
WAITING_FOR_ITS_MESSAGE = "temporary: no message with provider id"


def app_of(client: TestClient) -> FastAPI:
    """The app a test client drives (its ``state`` holds the runtime and the rate limiters)."""
    assert isinstance(client.app, FastAPI)
    return client.app


def post_webhook(client: TestClient, path: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
    """POST the raw ``body`` with ``headers``; the status code and the JSON reply."""
    response = client.post(path, content=body, headers=dict(headers))
    return response.status_code, response.json()


def deliver(client: TestClient, envelope: dict[str, Any], at: datetime) -> None:
    """POST a Housecall Pro delivery signed at ``at``; it must be accepted."""
    body, headers = signed(envelope, at)
    assert client.post("/webhooks/housecallpro", content=body, headers=headers).status_code == 202


def drain(runtime: Runtime, worker_id: str | None = None) -> None:
    """Run a worker until nothing is due (within 30 s)."""
    assert runtime.new_worker(worker_id).drain(timeout_seconds=30)


def raw_key(body: bytes) -> str:
    """The dedupe key intake gives an item it cannot identify: a hash of its raw bytes."""
    return "raw:" + hashlib.sha256(body).hexdigest()[:40]


def expected_keys(connector: InboundConnector, body: bytes) -> list[str]:
    """The dedupe key of each item of a verified delivery: the connector's, else the hash of the raw item (or body)."""
    try:
        items = connector.split(body)
    except ParseError:
        return [raw_key(body)]
    keys = []
    for item in items:
        try:
            keys.append(connector.identify(item).dedupe_key)
        except ParseError:  # e.g. a submission id that is a list
            keys.append(raw_key(item))
    return keys


def json_values(max_text: int, max_key: int, allow_infinity: bool | None = None) -> st.SearchStrategy[Any]:
    """Any JSON value (no NaN), nested a little: what a vendor might send, for the "never lost" properties."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=allow_infinity)
    return st.recursive(
        scalars | st.text(max_size=max_text),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=max_key), inner, max_size=3),
        max_leaves=12,
    )


# Placeholders a hostile value may be; ``hostile_json`` writes them as JSON that ``json.dumps`` cannot produce.
BIG_INT = "@@5000-digit-integer@@"
DEEP = "@@deeply-nested@@"
_HOSTILE_TEXT = st.one_of(
    st.sampled_from(["\ud800", "a\udfffb", "\udc80\ud800", "\x00", "x\x00y", "\x00\ud800", ""]),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "L", "Nd"]), max_size=8),
)
_HOSTILE_DATES = st.sampled_from(
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00",
        "9999-12-31",
        "2026-03-04T10:31:18+23:59",
        "2026-02-30T10:00:00Z",
        "1800-01-01T00:00:00Z",
        "-1",
    ]
)
_HOSTILE_NUMBERS = st.sampled_from([10**30, -(10**30), 2**63, -(2**63) - 1, 10**20, 1e308, -1e308, 5e-324, BIG_INT])
HOSTILE = st.one_of(_HOSTILE_TEXT, _HOSTILE_DATES, _HOSTILE_NUMBERS, st.just(DEEP))
"""A hostile JSON scalar: lone surrogates, NUL, 10^30, a 5,000-digit integer, out-of-range and far-offset dates, and
(written by ``hostile_json``) nesting deeper than any parser allows."""


def hostile_json(value: Any) -> bytes:
    """``value`` as JSON bytes, with the placeholders of ``HOSTILE`` written out (json.dumps refuses both)."""
    text = json.dumps(value)  # ensure_ascii: a lone surrogate and NUL are written as \ud800 and \u0000 escapes
    text = text.replace(json.dumps(BIG_INT), "9" * 5000)
    return text.replace(json.dumps(DEEP), "[" * 3000 + "]" * 3000).encode()


def json_paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value a hostile value can go: each leaf and each container, the root excluded."""
    found = [here] if here else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += json_paths(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += json_paths(item, (*here, index))
    return found


@st.composite
def hostile_variants(draw: st.DrawFn, base: Any) -> Any:
    """``base`` (a vendor's real payload) with one to three of its values, or a new key, made hostile."""
    value = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = json_paths(value)  # again each time: a container made a scalar has no places inside any more
        path = draw(st.sampled_from(paths)) if paths else ()
        target = value
        for step in path[:-1]:
            target = target[step]
        if path and draw(st.booleans()):
            target[path[-1]] = draw(HOSTILE)
        elif isinstance(target, dict):
            target[draw(_HOSTILE_TEXT)] = draw(HOSTILE)  # a key holding a surrogate or NUL
    return value


def payloads(folder: Path) -> list[Any]:
    """The JSON fixtures of a connector's folder: the real payloads hostile variants start from."""
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


HOSTILE_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
"""For the hostile-body properties: every connector's test runs a runtime per test, reused across examples."""


def assert_never_lost(
    runtime: Runtime,
    keys: Collection[str] | None = None,
    *,
    dead: bool = False,
    pending_because: str | None = None,
) -> tuple[list[Any], set[str]]:
    """Nothing accepted was lost: the inbox rows are stored and settled, and each that failed is in the error queue.

    ``keys``: the dedupe keys a delivery stored, one row each (None: every inbox row, of which there is at least one).
    Settled is done, ignored or error; with ``dead`` also dead (out of retries); with ``pending_because`` also
    pending, when retried for that reason. A row in error (or dead) says why and is listed in the error queue.
    Returns the rows and the ids in the error queue, for a test to check more.
    """
    with runtime.engine.connect() as conn:
        query = select(inbox).order_by(inbox.c.id)
        if keys is not None:
            query = query.where(inbox.c.dedupe_key.in_(set(keys)))
        stored = list(conn.execute(query))
        queue = {item.id for item in list_errors(conn, runtime.settings.account_id)}
    if keys is None:
        assert stored, "an accepted delivery was not stored"
    else:
        assert sorted(row.dedupe_key for row in stored) == sorted(set(keys)), "an item of a delivery was lost"
    settled = {"done", "ignored", "error"} | ({"dead"} if dead else set()) | ({"pending"} if pending_because else set())
    for row in stored:
        assert row.status in settled, row
        if row.status in ("error", "dead"):
            assert f"inbox-{row.id}" in queue and row.last_error, row
        if row.status == "pending":
            assert pending_because and row.last_error and row.last_error.startswith(pending_because), row
    return stored, queue


def another_shops_task(conn: Connection, **task: Any) -> None:
    """A customer and an open task of another account (``task`` sets its kind, role …), which no list may show."""
    conn.execute(
        insert(customers).values(
            id="other-customer",
            account_id="other",
            lifecycle_stage="customer",
            sms_opted_out=False,
            created_at=START,
            updated_at=START,
        )
    )
    values = {"kind": "sop.followup.1", "title": "Not ours", "role": "sales", "source": "seq:other", **task}
    conn.execute(
        insert(tasks).values(
            id="other-task",
            account_id="other",
            customer_id="other-customer",
            due_at=START,
            status="open",
            created_at=START,
            **values,
        )
    )
