"""Names and numbers in words: countries, lists, rates ("about 42 reports a minute"), durations."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import pycountry
from django.conf import settings


def absolute(path: str) -> str:
    """A link as the public site names it (SITE_URL), whatever host a request came in by:
    API bodies are cached across hosts, emails leave the site, and feed ids must not vary."""
    return f"{settings.SITE_URL}{path}"


LEVEL_LABELS = {0: "No problems", 1: "Possible problems", 2: "Problems detected"}


FALLING_LABEL = "Reports falling"


def country_name(code: str) -> str:
    """ISO code -> common name ("DE" -> "Germany"); "" -> "All countries"."""
    country = pycountry.countries.get(alpha_2=code) if code else None
    if country is None:
        return code or "All countries"
    return getattr(country, "common_name", country.name)


def country_names(codes: Iterable[str]) -> list[str]:
    return [country_name(c) for c in codes if c]


# Countries whose name takes "the" inside a sentence ("from the United Kingdom"); tables and
# lists show the bare name.
_THE = frozenset(
    "AE AX BS CC CF CK DO FK FO GB GM KM KY MH MP MV NL PH SB SC TC UM US VA".split()  # noqa: SIM905
)


def country_in_sentence(code: str) -> str:
    """ "GB" -> "the United Kingdom", "DE" -> "Germany": a country's name inside a sentence."""
    name = country_name(code)
    return f"the {name}" if code in _THE else name


def countries_in_sentence(codes: Iterable[str]) -> str:
    """ "Germany and the United States"."""
    return join_words([country_in_sentence(c) for c in codes if c])


def join_words(items: Sequence[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def level_label(level: int) -> str:
    return LEVEL_LABELS.get(level, LEVEL_LABELS[0])


def about(value: float) -> str:
    """A count people read at a glance: "about 3", "less than 1". The one rule for a rate in
    words, sentences and tiles alike, so one box never shows 1.5 beside "about 2". Halves go
    up (Python's round() gives 2 for 2.5 and 4 for 3.5)."""
    if value < 0.95:
        return "less than 1"
    return f"about {int(value + 0.5)}"


def about_reports(value: float) -> str:
    """ "about 3 reports", "less than 1 report": about() with its noun."""
    return f"{about(value)} {'report' if value < 1.5 else 'reports'}"


def excess_words(observed: float, expected: float | None) -> str:
    """How far above normal, for a country's row: "12× normal", or "about 18 a minute,
    normally under 1" where less than one a minute is normal: a ratio to a fraction of a
    report jumps by hundreds from minute to minute ("510× normal") and reads as a headline.
    ``expected`` None (a cold start: no normal is known): the rate alone."""
    if expected is None:
        return f"{about(observed)} a minute"
    if expected < 0.95:
        return f"{about(observed)} a minute, normally under 1"
    return f"{observed / expected:.0f}× normal"


def rate_phrase(
    observed: float, expected: float | None, *, capital: bool = True, place: str = ""
) -> str:
    """ "About 42 reports a minute, where about 3 are normal" (no full stop); ``place``
    ("from France") goes after the rate. No reports at all read "No reports in the last
    minute, where about 3 a minute are normal" ("no reports a minute" is no English)."""
    if observed <= 0:
        text = "no reports in the last minute" + (f" {place}" if place else "")
        unit = " a minute"
    else:
        text = f"{about_reports(observed)} a minute" + (f" {place}" if place else "")
        unit = ""
    if expected is not None:
        verb = "is" if expected < 1.5 else "are"
        text += f", where {about(expected)}{unit} {verb} normal"
    return text[0].upper() + text[1:] if capital else text


def duration_text(start: datetime, end: datetime) -> str:
    """ "7 min", "1 h 5 min", "2 h"."""
    minutes = max(round((end - start) / timedelta(minutes=1)), 1)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
