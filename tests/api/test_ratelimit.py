"""The per-client sliding-window limiter of public webhook endpoints, and the public URL a vendor posted to."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from fieldrelay.api.ratelimit import SlidingWindowLimiter
from fieldrelay.api.webhooks import public_url

# --- SlidingWindowLimiter ----------------------------------------------------------------------------


def test_allows_up_to_the_limit_then_refuses() -> None:
    limiter = SlidingWindowLimiter(limit=3, window_seconds=60)
    assert [limiter.allow("203.0.113.7", 100.0 + i) for i in range(5)] == [True, True, True, False, False]


def test_a_limit_of_zero_refuses_everything() -> None:
    limiter = SlidingWindowLimiter(limit=0, window_seconds=60)
    assert limiter.allow("203.0.113.7", 0.0) is False


def test_the_window_slides_a_hit_expires_exactly_one_window_later() -> None:
    limiter = SlidingWindowLimiter(limit=3, window_seconds=60)
    for t in (0.0, 10.0, 20.0):
        assert limiter.allow("ip", t)
    assert limiter.allow("ip", 59.9) is False
    assert limiter.allow("ip", 60.0) is True, "the hit at 0 is out of the window (0, 60]"
    assert limiter.allow("ip", 61.0) is False, "hits at 10, 20 and 60 are inside (1, 61]"
    assert limiter.allow("ip", 70.0) is True
    assert limiter.allow("ip", 75.0) is False


def test_refused_hits_are_not_counted() -> None:
    limiter = SlidingWindowLimiter(limit=2, window_seconds=60)
    assert limiter.allow("ip", 0.0) and limiter.allow("ip", 1.0)
    for t in range(2, 59):
        assert limiter.allow("ip", float(t)) is False
    # Had the refusals been counted, the window would still be full at 61.
    assert limiter.allow("ip", 60.0) is True
    assert limiter.allow("ip", 61.0) is True


def test_a_quiet_client_gets_the_full_limit_back() -> None:
    limiter = SlidingWindowLimiter(limit=2, window_seconds=60)
    assert limiter.allow("ip", 0.0) and limiter.allow("ip", 0.5)
    assert limiter.allow("ip", 1.0) is False
    assert [limiter.allow("ip", 1000.0 + i) for i in range(3)] == [True, True, False]


def test_each_key_has_its_own_window() -> None:
    limiter = SlidingWindowLimiter(limit=1, window_seconds=60)
    assert limiter.allow("198.51.100.1", 0.0) is True
    assert limiter.allow("198.51.100.1", 1.0) is False
    assert limiter.allow("198.51.100.2", 1.0) is True
    assert limiter.allow("2001:db8::1", 1.0) is True
    assert limiter.allow("198.51.100.2", 2.0) is False


def test_the_least_recently_seen_key_is_forgotten_once_the_key_table_is_full() -> None:
    limiter = SlidingWindowLimiter(limit=5, window_seconds=60, max_keys=3)
    for i, key in enumerate(("a", "b", "c")):
        assert limiter.allow(key, float(i))
    assert limiter.allow("a", 3.0)  # a is now the most recently seen

    assert limiter.allow("d", 4.0) is True
    assert set(limiter._hits) == {"a", "c", "d"}
    assert len(limiter._hits["a"]) == 2, "a kept its count"


def test_forgetting_idle_keys_keeps_busy_ones_and_their_counts() -> None:
    limiter = SlidingWindowLimiter(limit=2, window_seconds=60, max_keys=2)
    assert limiter.allow("idle", 0.0)
    assert limiter.allow("busy", 50.0) and limiter.allow("busy", 55.0)

    assert limiter.allow("new", 70.0) is True
    assert set(limiter._hits) == {"busy", "new"}
    assert limiter.allow("busy", 70.0) is False, "the busy key's window survived the clean-up"


def test_the_key_table_never_grows_past_max_keys() -> None:
    limiter = SlidingWindowLimiter(limit=5, window_seconds=60, max_keys=100)
    for i in range(1000):
        limiter.allow(f"2001:db8::{i:x}", i / 1000)
    assert len(limiter._hits) <= 100


# --- public_url --------------------------------------------------------------------------------------


def request(path: str = "/webhooks/twilio", query: bytes = b"", host: str = "10.0.0.5:8000") -> Request:
    """A request as uvicorn hands it to the app behind a proxy: internal host and plain http."""
    scope: dict[str, Any] = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "server": ("10.0.0.5", 8000),
        "client": ("203.0.113.7", 51234),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [(b"host", host.encode()), (b"content-type", b"application/x-www-form-urlencoded")],
    }
    return Request(scope)


@pytest.mark.parametrize("base", [None, ""])
def test_without_a_base_url_the_url_is_what_the_server_saw(base: str | None) -> None:
    assert public_url(request(), base) == "http://10.0.0.5:8000/webhooks/twilio"
    assert public_url(request(query=b"a=1&b=2"), base) == "http://10.0.0.5:8000/webhooks/twilio?a=1&b=2"


@pytest.mark.parametrize("base", ["https://relay.example.com", "https://relay.example.com/"])
def test_with_a_base_url_the_scheme_and_host_are_the_public_ones(base: str) -> None:
    assert public_url(request(), base) == "https://relay.example.com/webhooks/twilio"


def test_the_query_string_is_kept_exactly_as_sent() -> None:
    # Twilio signs the full URL, query included, byte for byte: no re-encoding, no reordering.
    query = b"b=2&a=%2Fx%20y&empty=&a=1"
    assert (
        public_url(request(query=query), "https://relay.example.com")
        == "https://relay.example.com/webhooks/twilio?b=2&a=%2Fx%20y&empty=&a=1"
    )


def test_a_base_url_with_a_path_prefix_keeps_it() -> None:
    assert (
        public_url(request(query=b"form=quote"), "https://shop.example.com/relay/")
        == "https://shop.example.com/relay/webhooks/twilio?form=quote"
    )


def test_no_query_string_adds_no_question_mark() -> None:
    assert "?" not in public_url(request(query=b""), "https://relay.example.com")
