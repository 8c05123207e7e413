"""Sign-in throttling: five failures a minute per key, then a wait that says how long; a success forgets a login's."""

from __future__ import annotations

from fieldrelay.service.access.throttle import LoginThrottle


def test_the_sixth_try_within_a_minute_waits_until_the_first_failure_is_a_minute_old() -> None:
    throttle = LoginThrottle(limit=5, window_seconds=60)
    keys = ("login:carla", "client:203.0.113.7")
    for second in range(5):
        assert throttle.wait_seconds(keys, 100.0 + second) == 0
        throttle.failed(keys, 100.0 + second)

    assert throttle.wait_seconds(keys, 110.0) == 50
    assert throttle.wait_seconds(("login:dan", "client:203.0.113.7"), 110.0) == 50  # same client, other login
    assert throttle.wait_seconds(("login:carla", "client:198.51.100.1"), 110.0) == 50  # same login, other client
    assert throttle.wait_seconds(("login:dan", "client:198.51.100.1"), 110.0) == 0
    assert throttle.wait_seconds(keys, 160.5) == 0


def test_a_sign_in_forgets_the_login_s_failures() -> None:
    throttle = LoginThrottle(limit=2, window_seconds=60)
    throttle.failed(["login:carla"], 0.0)
    throttle.succeeded("login:carla")
    throttle.failed(["login:carla"], 1.0)
    assert throttle.wait_seconds(["login:carla"], 2.0) == 0


def test_memory_stays_bounded() -> None:
    throttle = LoginThrottle(limit=1, window_seconds=60, max_keys=3)
    for n in range(10):
        throttle.failed([f"client:{n}"], 0.0)
    assert throttle.wait_seconds(["client:0"], 1.0) == 0  # forgotten
    assert throttle.wait_seconds(["client:9"], 1.0) == 59
