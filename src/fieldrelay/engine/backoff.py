"""Exponential backoff with jitter for failed deliveries and processing."""

from __future__ import annotations

import random
from datetime import timedelta

from fieldrelay.rules.config import RetryPolicy


def retry_delay(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> timedelta | None:
    """The wait before the next try after ``attempt`` failed tries, or None when the policy is spent.

    "Equal jitter" (half fixed, half random) keeps a floor under the wait while spreading a burst of
    failures apart: https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
    """
    if attempt >= policy.max_attempts:
        return None
    ceiling = min(policy.max_seconds, policy.base_seconds * 2 ** max(attempt - 1, 0))
    draw = (rng or random).random()
    return timedelta(seconds=ceiling / 2 + draw * ceiling / 2)
