"""Crash test with the real Twilio sender: a worker SIGKILLed while Twilio holds its text; the next one reconciles.

A stand-in for Twilio (``fake_twilio.py``, its own process on a free local port) records every text it is sent and
answers the first create only after a long pause. ``python -m fieldrelay worker`` runs on a real database with
``sms_provider: twilio`` pointed at it; once the stand-in holds that first text the worker is killed mid-call, and a
second worker must find the text through Twilio's message list (``lookup``) instead of sending it again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from fieldrelay.storage.tables import delivery_attempts, inbox, messages, outbox, timers
from tests.engine.test_crash import Workers, count, fill_backlog, wait_for

pytestmark = pytest.mark.slow

JOBS = 4
ACCOUNT_SID = "AC" + "c0ffee00" * 4
AUTH_TOKEN = "crash-test-twilio-auth-token"
FAKE_TWILIO = Path(__file__).with_name("fake_twilio.py")
# Long enough that the worker is surely killed while waiting, short of the worker's own request timeout.
FIRST_CREATE_STALL_SECONDS = 30
WAIT_SECONDS = 90.0
# Of the playbook, only the review request on job.paid (as in tests/conftest.py), and no sequences: one text per job.
CONFIG = """
account_id: default
business:
  name: Rapid Rooter Plumbing
  time_zone: America/Chicago
worker:
  lease_seconds: 2
  batch_size: 20
  poll_interval_seconds: 0.01
review_request:
  delay_minutes: 0
  review_url: https://g.page/r/rapid-rooter/review
# The workers run on the real clock: texts may go out at any hour, or a night-time run would wait for the morning.
text_hours: "00:00-24:00"
messaging:
  sms_provider: twilio
  twilio:
    from_number: "+15005550006"
    api_base_url: http://127.0.0.1:{port}
    request_timeout_seconds: 60
field_mapping:
  job.booked: {{write: {{next_appointment_at: customer.next_appointment_at, service_type: job.service_type}}}}
  job.completed: {{write: {{service_history: job, last_service_at: event.occurred_at}}}}
  job.paid:
    write: {{account_status: "text:active", last_paid_at: event.occurred_at}}
    trigger: [review_request]
sequences: {{}}
"""


class TwilioStandIn:
    """The ``fake_twilio.py`` process and the texts it has recorded."""

    def __init__(self, folder: Path) -> None:
        self.record = folder / "fake-twilio.jsonl"
        port_file = folder / "fake-twilio.port"
        log = (folder / "fake-twilio.log").open("wb")
        command = [sys.executable, str(FAKE_TWILIO), str(self.record), str(port_file), ACCOUNT_SID, AUTH_TOKEN]
        self.proc = subprocess.Popen(
            [*command, str(FIRST_CREATE_STALL_SECONDS)], stdout=log, stderr=subprocess.STDOUT, cwd=folder
        )
        log.close()
        deadline = time.monotonic() + 30
        while not port_file.exists():
            self.ensure_alive()
            if time.monotonic() > deadline:
                pytest.fail("the Twilio stand-in did not start within 30 s")
            time.sleep(0.02)
        self.port = int(port_file.read_text(encoding="utf-8"))

    def ensure_alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"the Twilio stand-in exited with {self.proc.returncode}")

    def texts(self) -> list[dict[str, Any]]:
        """Every message created so far, oldest first (complete lines only: the stand-in may be writing one)."""
        self.ensure_alive()
        if not self.record.exists():
            return []
        lines = self.record.read_text(encoding="utf-8").splitlines(keepends=True)
        return [json.loads(line) for line in lines if line.endswith("\n")]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def twilio(tmp_path: Path) -> Iterator[TwilioStandIn]:
    stand_in = TwilioStandIn(tmp_path)
    try:
        yield stand_in
    finally:
        stand_in.stop()


@pytest.fixture
def config_file(tmp_path: Path, twilio: TwilioStandIn) -> Path:
    path = tmp_path / "fieldrelay.yaml"
    path.write_text(CONFIG.format(port=twilio.port), encoding="utf-8")
    return path


@pytest.fixture
def workers(empty_db_url: str, config_file: Path, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(empty_db_url, config_file, tmp_path)
    pool.env |= {"FIELDRELAY_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "FIELDRELAY_TWILIO_SECRET": AUTH_TOKEN}
    try:
        yield pool
    finally:
        pool.stop_all()


def every_text_sent(engine: Engine) -> bool:
    """Inbox done, no timer due or firing, and every outbox row sent (checked in that order, as in test_crash)."""
    now = datetime.now(UTC)
    return (
        count(engine, inbox, inbox.c.status != "done") == 0
        and count(engine, timers, timers.c.status == "processing") == 0
        and count(engine, timers, timers.c.status == "pending", timers.c.next_attempt_at <= now) == 0
        and count(engine, outbox) > 0
        and count(engine, outbox, outbox.c.status != "sent") == 0
    )


def test_worker_killed_while_twilio_holds_its_text_is_reconciled_not_resent(
    empty_db_url: str, config_file: Path, secrets_env: None, reader: Engine, workers: Workers, twilio: TwilioStandIn
) -> None:
    total = fill_backlog(empty_db_url, config_file, jobs=JOBS, first_phone=2000)

    victim = workers.start("worker-1")
    wait_for(lambda: len(twilio.texts()) >= 1, "the stand-in to receive the first text", workers, WAIT_SECONDS)
    # The stand-in now holds the text and stalls its answer: the worker is inside the call, its row still "sending".
    assert count(reader, outbox, outbox.c.status == "sending", outbox.c.locked_by == "worker-1") >= 1
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    first = twilio.texts()[0]
    assert len(twilio.texts()) == 1, "the killed worker sent more than the stalled text"

    workers.start("worker-2")
    wait_for(lambda: every_text_sent(reader), "the second worker to send every text", workers, WAIT_SECONDS)
    workers.stop_all()

    with reader.connect() as conn:
        rows = conn.execute(select(outbox.c.id, outbox.c.payload, outbox.c.message_id)).all()
        attempts = conn.execute(
            select(delivery_attempts.c.outbox_id, delivery_attempts.c.outcome, delivery_attempts.c.detail)
        ).all()
        provider_ids = dict(conn.execute(select(messages.c.id, messages.c.provider_message_id)).all())
    texts = twilio.texts()

    assert count(reader, inbox, inbox.c.status == "done") == total
    assert len(rows) == JOBS, "one review request per job"
    sent = Counter((t["to"], t["body"]) for t in texts)
    queued = Counter((r.payload["to"], r.payload["body"]) for r in rows)
    assert sent == queued, "a text went out twice, or not at all"
    assert len(texts) == len(rows)

    killed = next(r for r in rows if (r.payload["to"], r.payload["body"]) == (first["to"], first["body"]))
    reconciled = [a for a in attempts if a.outcome == "sent" and "reconciled" in (a.detail or "")]
    assert [a.outbox_id for a in reconciled] == [killed.id], f"attempts: {attempts}"
    assert provider_ids[killed.message_id] == first["sid"], "the reconciled message carries Twilio's SID"
    assert {provider_ids[r.message_id] for r in rows} == {t["sid"] for t in texts}
