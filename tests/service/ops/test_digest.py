"""The daily operations digest on the simulated clock: what is open, emailed at the shop's morning hour, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fieldrelay.rules.config import Settings
from fieldrelay.rules.loader import parse_settings
from fieldrelay.runtime import Runtime
from fieldrelay.service.context import HandlerContext
from fieldrelay.service.ops import digest as ops_digest
from fieldrelay.service.ops.ports import OpenWork, WaitingTarget
from fieldrelay.storage.mirror import SqlMirror
from fieldrelay.storage.sequences.tables import dev_email_sent
from fieldrelay.storage.tables import timers
from tests.conftest import START, TEST_YAML
from tests.service.sequences.support import run_until
from tests.service.support import rows
from tests.storage.error_rows import add_dead_outbox

DIGEST_YAML = (
    TEST_YAML
    + """
crm:
  digest: {to: ops@rapidrooter.example, at: "07:00"}
"""
)
NEXT_MORNING = datetime(2026, 11, 3, 13, 0, tzinfo=UTC)  # Tuesday 07:00 in Chicago


@pytest.fixture
def settings() -> Settings:
    """The test settings with a digest to the operations owner at 07:00."""
    return parse_settings(DIGEST_YAML, "test.yaml")


def digest_timers(runtime: Runtime) -> list[tuple[str, datetime, str]]:
    """(key, due, status) of every digest timer."""
    return [(t.key, t.due_at, t.status) for t in rows(runtime, timers, timers.c.kind == ops_digest.DIGEST)]


def test_the_digest_lists_open_errors_and_waiting_deliveries_at_seven(runtime: Runtime) -> None:
    """A dead text from yesterday: the 07:00 email names it with its id, age and error, and how to replay it."""
    error_id, _ = add_dead_outbox(runtime.engine, START - timedelta(hours=20))
    runtime.new_worker("digest")
    assert digest_timers(runtime) == [("ops.digest:2026-11-03", NEXT_MORNING, "pending")]

    run_until(runtime, NEXT_MORNING - timedelta(minutes=1))
    assert rows(runtime, dev_email_sent) == [], "not before 07:00"
    run_until(runtime, NEXT_MORNING)

    (mail,) = rows(runtime, dev_email_sent)
    assert mail.to_address == "ops@rapidrooter.example"
    assert mail.subject == "fieldrelay daily for Rapid Rooter Plumbing: 1 error open"
    assert f"Open errors: 1\n  {error_id}" in mail.body
    assert "sms" in mail.body and "42h old" in mail.body and "tries 2" in mail.body
    assert "fieldrelay errors retry ID" in mail.body
    assert digest_timers(runtime) == [
        ("ops.digest:2026-11-03", NEXT_MORNING, "done"),
        ("ops.digest:2026-11-04", NEXT_MORNING + timedelta(days=1), "pending"),
    ]


def test_a_quiet_day_sends_nothing_but_keeps_the_schedule(runtime: Runtime) -> None:
    """Nothing open: no email, and tomorrow's digest is still scheduled; a second worker start adds no timer."""
    runtime.new_worker("one")
    runtime.new_worker("two")
    run_until(runtime, NEXT_MORNING)
    assert rows(runtime, dev_email_sent) == []
    assert [status for _, _, status in digest_timers(runtime)] == ["done", "pending"]


def test_the_digest_hour_stays_at_seven_across_the_end_of_daylight_saving(runtime: Runtime) -> None:
    """Chicago leaves daylight saving on 2026-11-01: 07:00 is 12:00 UTC the day before and 13:00 the day after."""
    before = datetime(2026, 10, 31, 12, 30, tzinfo=UTC)  # Saturday 07:30 CDT, after that day's digest
    with runtime.engine.connect() as conn:
        ctx = HandlerContext(SqlMirror(conn, "default", before), before, runtime.settings)
        assert ops_digest.next_run(ctx, before) == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
        assert ops_digest.next_run(ctx, datetime(2026, 10, 31, 11, 59, tzinfo=UTC)) == datetime(
            2026, 10, 31, 12, 0, tzinfo=UTC
        )


def test_a_target_that_has_been_down_for_hours_is_in_the_subject_and_the_list() -> None:
    """HubSpot's rows waiting three hours read in the subject and under "Waiting to be delivered"."""
    work = OpenWork(errors=[], error_total=0, waiting=[WaitingTarget("hubspot", 120, START - timedelta(hours=3))])
    assert ops_digest.subject("Rapid Rooter", work, START) == (
        "fieldrelay daily for Rapid Rooter: 0 errors open, 120 waiting for hubspot (3h)"
    )
    assert "Waiting to be delivered:\n  hubspot          120 rows, oldest 3h\n" in ops_digest.body(work, START)
