"""HubSpot's HTTP seam: one httpx client, the rate-limit bucket fed by HubSpot's headers, errors as CrmWriteFailed.

Vendor-published (verified), https://developers.hubspot.com/changelog/2018-11-06-rate-limit-information-headers-will-be-included-in-http-responses
and https://developers.hubspot.com/changelog/rate-limit-headers-will-now-appear-for-oauth-authenticated-calls (limits:
https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines): responses carry
``X-HubSpot-RateLimit-Max`` / ``-Remaining`` / ``-Interval-Milliseconds`` (the burst window, ten seconds) and, for
private-app tokens, ``X-HubSpot-RateLimit-Daily`` / ``-Daily-Remaining`` (OAuth calls have no daily limit and no
daily headers). Errors are JSON ``{"status", "message", "category", "correlationId"}`` (the contacts v3 spec's
``Error`` schema). Partly verified: a refused call is a 429 whose body names the ``policyName`` it hit, ``DAILY``
(HubSpot's usage-guidelines example, as mirrored by public test suites) or ``SECONDLY`` (a real response quoted in
HGData/mk-node-hubspot#84; today's burst policy is said to be ``TEN_SECONDLY_ROLLING``); anything but ``DAILY`` is
taken for the burst window.

Our choices (not vendor contract): the burst window is treated as starting when ``Remaining`` reached 0, so the wait
is the whole interval (the rolling window may free a slot sooner; waiting a little long is cheaper than a 429). The
daily limit resets at midnight in the HubSpot account's time zone, which the API does not tell us, so a spent day is
retried after the next midnight UTC: early by up to a day's offset, in which case HubSpot refuses again with a 429
and the outbox waits once more. 5xx, timeouts and 429s count as the CRM being down (the circuit breaker's input);
401/403 and other 4xx refuse this record and are not retried.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from fieldrelay.service.clock import Clock
from fieldrelay.service.crm.targets import CrmWriteFailed

TOKEN_ENV = "FIELDRELAY_HUBSPOT_TOKEN"
_MAX_DETAIL = 300  # characters of a failure detail
_SECONDLY_WAIT = 10.0  # seconds: one burst window, when a 429 has no Retry-After
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")


def next_midnight_utc(now: datetime) -> datetime:
    """The next 00:00 UTC after ``now`` (when a spent daily limit is assumed reset; see the module docstring)."""
    day = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def existing_id(message: str) -> str | None:
    """The id HubSpot names in a conflict ("Contact already exists. Existing ID: 37765128953"), if any."""
    match = _EXISTING_ID.search(message)
    return match.group(1) if match else None


def _short(text: str) -> str:
    """The text cut to the failure-detail limit."""
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    """A header's integer value, or None when absent or not a number."""
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


class RateLimiter:
    """A token bucket per target, refilled from HubSpot's rate-limit headers rather than guessed limits."""

    def __init__(self, clock: Clock, sleep: Callable[[float], None]) -> None:
        self._clock = clock
        self._sleep = sleep
        self._tokens: int | None = None  # calls left in the burst window; None: unknown, so go ahead
        self._refill_at: datetime | None = None
        self._daily_spent_until: datetime | None = None

    def before_request(self) -> None:
        """Wait out a spent burst window; refuse, without calling, while the daily limit is spent."""
        now = self._clock.now()
        if self._daily_spent_until is not None:
            if now < self._daily_spent_until:
                wait = (self._daily_spent_until - now).total_seconds()
                raise CrmWriteFailed(
                    "HubSpot daily API limit spent (X-HubSpot-RateLimit-Daily-Remaining: 0)",
                    retryable=True,
                    target_down=False,
                    status_code=429,
                    retry_after_seconds=wait,
                )
            self._daily_spent_until = None
        if self._tokens is not None and self._tokens <= 0:
            if self._refill_at is not None and now < self._refill_at:
                # At most one interval (10 s): short enough to wait in-process rather than fail the write.
                self._sleep((self._refill_at - now).total_seconds())
            self._tokens = None
            self._refill_at = None
        elif self._tokens is not None:
            self._tokens -= 1  # counted here too, so a response without headers still spends a token

    def observe(self, headers: httpx.Headers) -> None:
        """Take the bucket's state from a response's X-HubSpot-RateLimit-* headers."""
        now = self._clock.now()
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        if remaining is not None:
            self._tokens = remaining
            if remaining <= 0:
                interval_ms = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds") or 10_000
                self._refill_at = now + timedelta(milliseconds=interval_ms)
        if _int_header(headers, "X-HubSpot-RateLimit-Daily-Remaining") == 0:
            self.daily_spent()

    def daily_spent(self) -> None:
        """Refuse further calls until the daily limit is assumed reset."""
        self._daily_spent_until = next_midnight_utc(self._clock.now())

    def burst_spent(self, seconds: float) -> None:
        """Wait ``seconds`` before the next call (a 429 for the burst window)."""
        self._tokens = 0
        self._refill_at = self._clock.now() + timedelta(seconds=seconds)


class HubSpotHttp:
    """Sends JSON requests to HubSpot with the token, through the bucket; raises CrmWriteFailed on any failure."""

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout_seconds: float,
        clock: Clock,
        sleep: Callable[[float], None],
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._clock = clock
        self.limiter = RateLimiter(clock, sleep)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout_seconds,
            headers={"Authorization": f"Bearer {token}"},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def send(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """One call; the response whatever its status, or CrmWriteFailed when HubSpot could not be reached."""
        self.limiter.before_request()
        try:
            response = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            # Connect errors, timeouts, dropped connections; every step of a write is an upsert or idempotent PUT,
            # so the retry of the whole write is safe (notes excepted, see target.py).
            raise CrmWriteFailed(
                _short(f"HubSpot unreachable: {type(exc).__name__}: {exc}"), retryable=True, target_down=True
            ) from exc
        self.limiter.observe(response.headers)
        return response

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One call that must succeed (2xx): its JSON body (None when empty), else CrmWriteFailed."""
        response = self.send(method, path, body)
        if response.is_success:
            return json_body(response)
        raise self.failure(response)

    def failure(self, response: httpx.Response) -> CrmWriteFailed:
        """The CrmWriteFailed a non-2xx response means (see the module docstring for the classes)."""
        status = response.status_code
        error = json_body(response)
        error = error if isinstance(error, dict) else {}
        message = str(error.get("message") or response.text[:_MAX_DETAIL] or response.reason_phrase)
        category = error.get("category") or error.get("errorType")
        if status == 429:
            policy = str(error.get("policyName") or "")
            if policy == "DAILY":
                self.limiter.daily_spent()
                wait = (next_midnight_utc(self._clock.now()) - self._clock.now()).total_seconds()
            else:
                wait = _retry_after(response) or _SECONDLY_WAIT
                self.limiter.burst_spent(wait)
            return CrmWriteFailed(
                _short(f"HubSpot 429 rate limit {policy or 'unknown policy'}: {message}"),
                retryable=True,
                target_down=True,
                status_code=429,
                error_code=policy or None,
                retry_after_seconds=wait,
            )
        if status >= 500:
            return CrmWriteFailed(
                _short(f"HubSpot {status}: {message}"), retryable=True, target_down=True, status_code=status
            )
        if status in (401, 403):
            return CrmWriteFailed(
                _short(
                    f"HubSpot {status}: the token in {TOKEN_ENV} was refused or lacks a scope "
                    f"(contacts and deals read/write): {message}"
                ),
                retryable=False,
                status_code=status,
                error_code=str(category) if category else None,
            )
        where = f" [{category}]" if category else ""
        return CrmWriteFailed(
            _short(f"HubSpot {status}{where}: {message}"),
            retryable=False,
            status_code=status,
            error_code=str(category) if category else None,
        )


def json_body(response: httpx.Response) -> Any:
    """The response's JSON, or None when it has no (parseable) body."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (HubSpot sends seconds, not an HTTP date), if present and sane."""
    try:
        seconds = float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
    return seconds if seconds >= 0 else None
