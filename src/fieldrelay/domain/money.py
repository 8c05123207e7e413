"""Money as people read it: cents shown in dollars."""

from __future__ import annotations


def dollars(cents: int) -> str:
    """$1,234.50 for 123450."""
    return f"${cents / 100:,.2f}"
