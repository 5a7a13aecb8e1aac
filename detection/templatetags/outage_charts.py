"""{% sparkline values level %} and {% series_chart series %} for the status pages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django import template
from django.utils.safestring import SafeString

from detection import charts
from detection.selectors import Series, country_name

register = template.Library()


@register.simple_tag
def sparkline(values: Sequence[float] | None, level: str = "ok") -> SafeString:
    return charts.sparkline_svg(values or [], level=level)


@register.simple_tag
def series_chart(
    series: Series, title: str = "", highlight: Sequence[tuple[datetime, datetime | None]] = ()
) -> SafeString:
    return charts.series_chart_svg(series, title=title, highlight=highlight)


@register.filter
def country(code: str) -> str:
    """ISO code -> country name ("" -> "All countries")."""
    return country_name(code)
