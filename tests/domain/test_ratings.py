"""Replies read as a 1-5 rating, and replies that are not one."""

from __future__ import annotations

import pytest

from fieldrelay.domain.ratings import parse_rating


@pytest.mark.parametrize(
    ("reply", "rating"),
    [("5", 5), (" 1 ", 1), ("4!", 4), ("5 stars", 5), ("3/5", 3), ("3 out of 5", 3), ("Five!!", 5), ("2 👎", 2)],
)
def test_a_plain_rating_is_read(reply: str, rating: int) -> None:
    assert parse_rating(reply) == rating


@pytest.mark.parametrize("reply", ["10", "0", "6", "2/10", "3 or 4", "great job", "STOP", "", "call me at 5"])
def test_anything_else_is_left_to_a_person(reply: str) -> None:
    assert parse_rating(reply) is None
