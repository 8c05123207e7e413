"""Cents shown as dollars."""

from __future__ import annotations

from fieldrelay.domain.money import dollars


def test_cents_read_as_dollars_with_thousands_and_two_decimals() -> None:
    assert [dollars(c) for c in (0, 5, 5000, 123450)] == ["$0.00", "$0.05", "$50.00", "$1,234.50"]
