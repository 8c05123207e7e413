"""The per-target circuit breaker on a simulated clock: opens after a run of outage failures, probes, resumes."""

from __future__ import annotations

from datetime import timedelta

from fieldrelay.engine.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreakers, Transition
from fieldrelay.rules.crm import BreakerSettings
from tests.conftest import START


def breakers() -> CircuitBreakers:
    """Three failures open the circuit for 30 s, doubling per failed probe up to 100 s."""
    return CircuitBreakers(BreakerSettings(failures=3, cool_down_seconds=30, max_cool_down_seconds=100))


def test_opens_after_the_configured_run_of_failures() -> None:
    """Two failures leave calls going; the third opens the circuit for the cool-down."""
    b = breakers()
    assert b.failed("hubspot", START) is None
    assert b.failed("hubspot", START) is None
    assert b.blocked_until("hubspot", START) is None
    assert b.failed("hubspot", START) == START + timedelta(seconds=30)
    assert b.blocked_until("hubspot", START + timedelta(seconds=29)) == START + timedelta(seconds=30)
    assert b.is_open("hubspot") and b.open_targets() == {"hubspot": START + timedelta(seconds=30)}
    assert b.blocked_until("salesforce", START) is None, "one target's outage is its own"


def test_a_success_between_failures_resets_the_count() -> None:
    """Failures must come in a row: a write that lands in between starts the count again."""
    b = breakers()
    b.failed("hubspot", START)
    b.failed("hubspot", START)
    assert b.succeeded("hubspot", START) is False, "it was never open"
    assert b.failed("hubspot", START) is None


def test_a_failed_probe_doubles_the_cool_down_up_to_the_maximum() -> None:
    """After the cool-down one call may probe; each failed probe waits twice as long, never past the maximum."""
    b = breakers()
    for _ in range(3):
        opened = b.failed("hubspot", START)
    assert opened == START + timedelta(seconds=30)
    probe = START + timedelta(seconds=30)
    assert b.blocked_until("hubspot", probe) is None
    assert b.failed("hubspot", probe) == probe + timedelta(seconds=60)
    probe += timedelta(seconds=60)
    assert b.failed("hubspot", probe) == probe + timedelta(seconds=100)
    probe += timedelta(seconds=100)
    assert b.failed("hubspot", probe) == probe + timedelta(seconds=100)


def test_a_successful_probe_closes_the_circuit() -> None:
    """The probe lands: the circuit closes and the next outage needs a full run of failures again."""
    b = breakers()
    for _ in range(3):
        b.failed("hubspot", START)
    assert b.succeeded("hubspot", START) is True
    assert not b.is_open("hubspot") and b.open_targets() == {}
    assert b.failed("hubspot", START) is None


def test_a_requested_pause_opens_the_circuit_at_once_for_at_least_that_long() -> None:
    """A CRM asking for a ten-minute pause gets it on the first refusal, though the cool-down is shorter; a short
    Retry-After still waits the cool-down."""
    b = breakers()
    assert b.failed("hubspot", START, retry_after_seconds=600) == START + timedelta(seconds=600)
    assert b.failed("salesforce", START, retry_after_seconds=10) == START + timedelta(seconds=30)


def test_each_change_of_state_is_handed_on_as_it_happens() -> None:
    """Open with its probe time, half-open once when the probe is let through, open again, closed: in that order; a
    worker's first call through is announced as closed (the state recorded may be another worker's outage)."""
    changes: list[Transition] = []
    b = CircuitBreakers(BreakerSettings(failures=1, cool_down_seconds=30, max_cool_down_seconds=100), changes.append)
    assert b.succeeded("salesforce", START) is False
    b.failed("hubspot", START)
    probe = START + timedelta(seconds=30)
    assert b.blocked_until("hubspot", probe - timedelta(seconds=1)) == probe
    assert b.blocked_until("hubspot", probe) is None
    assert b.blocked_until("hubspot", probe) is None, "the second row of the pass goes too, unannounced"
    b.failed("hubspot", probe)
    later = probe + timedelta(seconds=60)
    b.blocked_until("hubspot", later)
    b.succeeded("hubspot", later)
    b.succeeded("hubspot", later)
    assert changes == [
        Transition("salesforce", CLOSED, START),
        Transition("hubspot", OPEN, START, probe),
        Transition("hubspot", HALF_OPEN, probe),
        Transition("hubspot", OPEN, probe, later),
        Transition("hubspot", HALF_OPEN, later),
        Transition("hubspot", CLOSED, later),
    ]
