"""{% sparkline %}, {% series_chart %}, {% country_map %} and the status words for the pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import template
from django.utils.safestring import SafeString

from detection import charts, presentation
from detection.presentation import country_name
from detection.selectors import LEVEL_CODES, Series, ServiceState

register = template.Library()


@register.simple_tag
def sparkline(values: Sequence[float] | None, level: str = "ok") -> SafeString:
    return charts.sparkline_svg(values or [], level=level)


@register.simple_tag
def series_chart(
    series: Series,
    title: str = "",
    highlight: Sequence[tuple[datetime, datetime | None]] = (),
    kind: str = "series",
) -> SafeString:
    """The chart drawn twice, wide and narrow; site.css shows the one that fits."""
    return charts.responsive_chart_svg(series, title=title, highlight=highlight, kind=kind)


@register.simple_tag
def series_caption(
    series: Series, highlight: Sequence[tuple[datetime, datetime | None]] = ()
) -> SafeString:
    return presentation.series_caption(series, highlight)


@register.simple_tag
def country_map(rows: Sequence[Any], title: str = "") -> SafeString:
    return charts.country_map_svg(rows, title=title)


@register.simple_tag
def status_label(state: ServiceState) -> str:
    return presentation.status_label(state)


@register.simple_tag
def status_look(state: ServiceState) -> str:
    return presentation.status_look(state)


@register.simple_tag
def status_sentence(state: ServiceState, html: bool = True) -> str:
    """With <time> elements (localtime.js shows them in the reader's zone); html=False for
    attributes such as the page's description."""
    return presentation.status_sentence(state, html=html)


@register.simple_tag
def status_why(state: ServiceState) -> str:
    """Plain text, escaped by the template as every simple tag's."""
    return presentation.status_why(state)


@register.simple_tag
def level_label(code: str) -> str:
    """A level by its code ("problems") in the badge's words ("Problems detected")."""
    levels = {name: level for level, name in LEVEL_CODES.items()}
    return presentation.level_label(levels.get(code, 0))


@register.simple_tag
def counter_label(key: str) -> str:
    return presentation.COUNTER_LABELS[key]


@register.filter
def no_history(series: Series) -> bool:
    """The series is on a cold start (presentation.cold_start): what it draws as expected is
    the detector's guess for a new service, not anyone's normal."""
    return presentation.cold_start(series.baseline_method)


@register.filter
def country(code: str) -> str:
    """ISO code -> country name ("" -> "All countries")."""
    return country_name(code)
