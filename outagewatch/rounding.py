"""Numbers as a reader needs them, in every machine-readable answer (the read API, webhooks)."""

from __future__ import annotations

import numpy as np


def for_readers(number: float, decimals: int = 2) -> float:
    """To ``decimals`` places, a value under 1 to 3 significant figures (an expectation of
    0.004 a minute is not 0). Estimates come out with 16 digits (36.83606846226556) beside
    figures of 2, which no reader can use and every cache key and ETag varied on."""
    if number and abs(number) < 1:
        return float(f"{number:.3g}")
    return round(number, decimals)


def figure_text(number: float) -> str:
    """A figure in a sentence: one decimal ("3.2"), under 1 two significant figures ("0.046"),
    never in exponent form. "0.0 expected" read as nothing expected (a tester quoted it)."""
    if 0 < abs(number) < 1:
        return np.format_float_positional(number, precision=2, fractional=False, trim="-")
    return f"{number:.1f}"
