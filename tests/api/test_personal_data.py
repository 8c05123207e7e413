"""No personal data in any log line, stored error text or API error field, whatever fails on the way.

Deliveries carrying a customer's name, phone, email and street are sent through the failing paths: a value out of
range (a data error, to the error queue at once), a database error quoting the statement's parameters and the row
(retried, with a traceback), and an integrity error whose DETAIL holds the row's values. Then the captured logs, the
inbox's stored error texts and GET /api/errors are searched for every piece of it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from fieldrelay.engine.logs import configure_logging
from fieldrelay.runtime import Runtime
from fieldrelay.service import bus
from fieldrelay.storage.tables import inbox
from tests.api.support import AUTH, drain
from tests.conftest import START
from tests.helpers import job_envelope, signed

FIRST, LAST, STREET = "Keisha", "Okonkwo-Brandt", "4821 Bluebonnet Ln"
PHONE, EMAIL = "(512) 555-0177", "keisha.okonkwo@example.net"
PERSONAL = (FIRST, LAST, "Bluebonnet", "555-0177", "5550177", EMAIL, "keisha.okonkwo")
ROW = f"{FIRST}, {LAST}, {STREET}, +15125550177, {EMAIL}"


def _delivery(client: TestClient, job_id: str, total: int = 45000) -> None:
    envelope = job_envelope("job.completed", "2026-11-02T14:59:00Z", job_id=job_id, phone=PHONE, email=EMAIL)
    envelope["job"]["customer"].update(first_name=FIRST, last_name=LAST)
    envelope["job"]["address"]["street"] = STREET
    envelope["job"]["total_amount"] = total
    body, headers = signed(envelope, START)
    assert client.post("/webhooks/housecallpro", content=body, headers=headers).status_code == 202


def _database_error(kind: str) -> Exception:
    """What a driver raises, quoting the row: SQLAlchemy adds the parameters unless the engine hides them."""
    params = {"first_name": FIRST, "last_name": LAST, "street": STREET, "phone": "+15125550177", "email": EMAIL}
    if kind == "outage":
        return OperationalError(
            "INSERT INTO customers VALUES (...)", params, Exception("server closed the connection unexpectedly")
        )
    detail = f"null value in column violates not-null constraint\nDETAIL:  Failing row contains ({ROW})."
    return IntegrityError("INSERT INTO customers VALUES (...)", params, _NotNullViolation(detail))


class _NotNullViolation(Exception):
    """A driver's error as psycopg raises it: the SQLSTATE says what kind (23502: NOT NULL)."""

    sqlstate = "23502"


@pytest.fixture
def production_logging() -> Iterator[io.StringIO]:
    """The logging `serve` and `worker` set up (JSON lines, tracebacks without locals), written here for this test."""
    lines = io.StringIO()
    configure_logging("DEBUG", "json", cache=False)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=lines))
    yield lines
    structlog.reset_defaults()


@pytest.mark.parametrize("kind", ["outage", "integrity"])
def test_failing_paths_keep_personal_data_out_of_logs_stored_errors_and_the_api(
    client: TestClient,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    production_logging: io.StringIO,
    kind: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    _delivery(client, "job_out_of_range", total=10**30)  # an amount no database column holds
    drain(runtime)

    def failing_apply(*_args: Any) -> None:
        raise _database_error(kind)

    monkeypatch.setattr(bus, "apply", failing_apply)
    _delivery(client, "job_database_refused")
    runtime.new_worker().run_once()  # one try: the outage is retried later, the integrity error is queued

    with runtime.engine.connect() as conn:
        stored = [(r.status, r.last_error) for r in conn.execute(select(inbox).order_by(inbox.c.id))]
    errors = client.get("/api/errors", headers=AUTH)
    assert errors.status_code == 200
    listed = errors.json()["items"]
    logs = capsys.readouterr()
    written = [production_logging.getvalue(), logs.out, logs.err, caplog.text]
    seen = "\n".join([*written, errors.text, *(str(e) for _, e in stored)])

    assert stored[0][0] == "error" and "out of range" in (stored[0][1] or "")
    assert stored[1][0] == ("pending" if kind == "outage" else "error")
    assert stored[1][1] and ("OperationalError" if kind == "outage" else "IntegrityError") in stored[1][1]
    assert len(listed) == (1 if kind == "outage" else 2)
    assert "inbox.data_error" in written[0]  # the failures were logged (an outage's traceback: once per interval)
    for piece in PERSONAL:
        assert piece.lower() not in seen.lower(), f"{piece!r} leaked"
