"""Quoting what a client sent inside an error message, at most a short prefix of it.

A 400 that repeats the whole value grows with the request: a 15 KB country was a 15 KB
answer. The start of a value is enough to recognise it.
"""

from __future__ import annotations

QUOTE_LIMIT = 40


def shortened(value: object, limit: int = QUOTE_LIMIT) -> str:
    """The value as text, cut to ``limit`` characters and "…" when longer."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """“value”, shortened: for the user's input inside a sentence."""
    return f"“{shortened(value, limit)}”"
