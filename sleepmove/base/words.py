"""Counts as a person reads them, for every message and page."""

from __future__ import annotations


def how_many(count: int, noun: str, plural: str | None = None) -> str:
    """1 row, 2 rows (`plural` where it is not the noun and an s: stretches): a count with its
    noun in the number it takes ("1 rows" in a warning)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
