"""HubSpot outbound rate limits: the burst bucket fed by X-HubSpot-RateLimit-* headers, and a spent daily limit."""

from __future__ import annotations

import httpx
import pytest

from fieldrelay.engine.clock import SimulatedClock
from fieldrelay.service.crm.targets import CrmWriteFailed
from tests.connectors.hubspot.support import START, FakeHubSpot, Sleeps, change, make_target, upserted

UPSERT = ("POST", "/crm/v3/objects/contacts/batch/upsert")


def limited(remaining: int, daily_remaining: int = 249_000) -> httpx.Response:
    """An upsert answer carrying the burst and daily headers of a private-app token."""
    response = upserted("901")
    response.headers.update(
        {
            "X-HubSpot-RateLimit-Max": "100",
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Daily": "250000",
            "X-HubSpot-RateLimit-Daily-Remaining": str(daily_remaining),
        }
    )
    return response


def test_the_bucket_sleeps_out_the_window_when_remaining_hits_zero() -> None:
    clock = SimulatedClock(START)
    sleeps = Sleeps(clock)
    fake = FakeHubSpot({UPSERT: [limited(1), limited(0), limited(99)]})
    target = make_target(fake, clock=clock, sleep=sleeps)

    target.write(change())  # remaining 1: no wait
    target.write(change())  # remaining 0 observed after this call
    clock.advance(4)
    target.write(change())  # waits the rest of the 10 s window
    target.write(change())  # remaining 99: no wait

    assert sleeps.waits == [6.0]
    assert len(fake.requests) == 4


def test_no_sleep_when_the_window_has_already_passed() -> None:
    clock = SimulatedClock(START)
    sleeps = Sleeps(clock)
    fake = FakeHubSpot({UPSERT: [limited(0), limited(50)]})
    target = make_target(fake, clock=clock, sleep=sleeps)

    target.write(change())
    clock.advance(11)
    target.write(change())

    assert sleeps.waits == []
    assert len(fake.requests) == 2


def test_daily_remaining_zero_fails_the_next_write_without_a_request() -> None:
    clock = SimulatedClock(START)
    fake = FakeHubSpot({UPSERT: [limited(50, daily_remaining=0)]})
    target = make_target(fake, clock=clock)

    assert target.write(change()).remote_id == "901"  # the last call of the day still landed
    with pytest.raises(CrmWriteFailed) as failed:
        target.write(change())

    error = failed.value
    assert (error.retryable, error.target_down, error.status_code) == (True, False, 429)
    assert error.retry_after_seconds == 9 * 3600  # 15:00 UTC → next midnight UTC
    assert len(fake.requests) == 1


def test_a_spent_day_is_called_again_after_midnight_utc() -> None:
    clock = SimulatedClock(START)
    fake = FakeHubSpot({UPSERT: [limited(50, daily_remaining=0), limited(50)]})
    target = make_target(fake, clock=clock)
    target.write(change())

    clock.advance(9 * 3600)

    assert target.write(change()).remote_id == "901"
    assert len(fake.requests) == 2
