"""Retry backoff: equal jitter, exponential from the base, capped, spent after max_attempts."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest

from fieldrelay.engine.backoff import retry_delay
from fieldrelay.rules.config import RetryPolicy

DEFAULT = RetryPolicy()


def ceiling(attempt: int, policy: RetryPolicy = DEFAULT) -> float:
    """The largest wait after ``attempt`` failed tries."""
    return float(min(policy.max_seconds, policy.base_seconds * 2 ** max(attempt - 1, 0)))


def test_default_policy() -> None:
    assert (DEFAULT.max_attempts, DEFAULT.base_seconds, DEFAULT.max_seconds) == (8, 30.0, 6 * 3600.0)


@pytest.mark.parametrize("attempt", range(8))
def test_delay_between_half_ceiling_and_ceiling(attempt: int) -> None:
    rng = random.Random(attempt)
    for _ in range(200):
        delay = retry_delay(attempt, DEFAULT, rng)
        assert delay is not None
        assert ceiling(attempt) / 2 <= delay.total_seconds() <= ceiling(attempt)


def test_first_retry_waits_between_15_and_30_seconds() -> None:
    delays = [retry_delay(1, DEFAULT, random.Random(seed)) for seed in range(50)]
    assert all(d is not None and timedelta(seconds=15) <= d <= timedelta(seconds=30) for d in delays)


class _Fixed(random.Random):
    """A 'random' source that always draws the same value."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self._value = value

    def random(self) -> float:
        return self._value


@pytest.mark.parametrize(("draw", "fraction"), [(0.0, 0.5), (0.5, 0.75), (0.999999, 1.0)])
def test_grows_exponentially_from_base(draw: float, fraction: float) -> None:
    """With the same draw every time, each wait is double the one before, from 30 s."""
    waits = []
    for attempt in range(1, 8):
        delay = retry_delay(attempt, DEFAULT, _Fixed(draw))
        assert delay is not None
        waits.append(delay.total_seconds())
    expected = [30 * 2 ** (n - 1) * fraction for n in range(1, 8)]
    assert waits == pytest.approx(expected, rel=1e-5)
    assert all(b == pytest.approx(2 * a) for a, b in itertools.pairwise(waits))


def test_capped_at_max_seconds() -> None:
    policy = RetryPolicy(max_attempts=50, base_seconds=30, max_seconds=6 * 3600)
    rng = random.Random(42)
    for attempt in range(11, 50):  # 30 * 2**10 = 30720 s > 6 h
        delay = retry_delay(attempt, policy, rng)
        assert delay is not None
        assert 3 * 3600 <= delay.total_seconds() <= 6 * 3600
    top = retry_delay(49, policy, _Fixed(0.999999))
    assert top is not None and top.total_seconds() == pytest.approx(6 * 3600, rel=1e-5)


@pytest.mark.parametrize("attempt", [8, 9, 100])
def test_none_after_max_attempts(attempt: int) -> None:
    assert retry_delay(attempt, DEFAULT, random.Random(1)) is None


def test_custom_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=30, max_seconds=120)
    assert retry_delay(2, policy, random.Random(1)) is not None
    assert retry_delay(3, policy, random.Random(1)) is None


def test_seeded_rng_is_reproducible_and_jitter_spreads() -> None:
    a = [retry_delay(4, DEFAULT, r) for r in [random.Random(7)] * 20]
    b = [retry_delay(4, DEFAULT, r) for r in [random.Random(7)] * 20]
    assert a == b
    assert len(set(a)) > 1, "a burst of failures should not all retry at the same instant"


def test_works_without_an_rng() -> None:
    delay = retry_delay(2, DEFAULT)
    assert delay is not None and 30 <= delay.total_seconds() <= 60
