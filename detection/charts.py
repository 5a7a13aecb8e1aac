"""Server-side SVG: sparklines for the catalog, the reports-vs-expected chart and the map.

Drawn on the server so pages work without JavaScript, cost no extra request and need no
chart library. Only numbers and escaped text go into the markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypedDict

import numpy as np
from django.templatetags.static import static
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from detection.selectors import Series, SeriesPoint


def _nice_ceiling(value: float, *, floor: float = 5.0) -> float:
    """The next 1, 2, 5 x 10^n at or above `value` (at least `floor`), for a readable axis."""
    value = max(value, floor)
    exponent = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * exponent >= value:
            return float(factor * exponent)
    return float(10 * exponent)


def _points(xs: Sequence[float], ys: Sequence[float]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


# How far a simplified line may stray from the exact one, in drawing units. A drawing is shown
# at most 1.4 times its size (site.css: .chart's max-height of 320 px over 230-260 units), so
# this is half a CSS pixel at most: nothing a reader can see.
SIMPLIFY_TOLERANCE = 0.35


def _simplified(
    xs: Sequence[float], ys: Sequence[float], tolerance: float = SIMPLIFY_TOLERANCE
) -> tuple[list[float], list[float]]:
    """The points of a line that it cannot do without (Douglas-Peucker): every point left out
    lies within `tolerance` of the segment drawn past it.

    The expected count and its band are smooth: a day of minutes draws as a few dozen
    segments. Drawn point by point they were two thirds of a service page's bytes, and of
    every live.json a page polls during an outage.
    """
    n = len(xs)
    if n < 3:
        return list(xs), list(ys)
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    # An explicit stack: a noisy line would recurse once per point.
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        # Distances to the segment, not to its line: a spike beside a steep segment is near
        # the line's extension and far from what is drawn.
        dx, dy = x[last] - x[first], y[last] - y[first]
        px, py = x[first + 1 : last] - x[first], y[first + 1 : last] - y[first]
        along = np.clip((px * dx + py * dy) / (dx * dx + dy * dy or 1.0), 0.0, 1.0)
        distance = np.hypot(px - along * dx, py - along * dy)
        farthest = int(np.argmax(distance))
        if distance[farthest] > tolerance:
            middle = first + 1 + farthest
            keep[middle] = True
            stack += [(first, middle), (middle, last)]
    return x[keep].tolist(), y[keep].tolist()


def sparkline_svg(
    values: Sequence[float], *, width: int = 120, height: int = 28, level: str = "ok"
) -> SafeString:
    """A small line of the last hours; the newest value on the right."""
    if not values:
        return mark_safe("")
    top = max(max(values), 1.0)
    n = len(values)
    step = width / max(n - 1, 1)
    xs = [i * step for i in range(n)]
    ys = [height - 2 - (v / top) * (height - 4) for v in values]
    line = _points(xs, ys)
    area = f"0,{height} {line} {width:.1f},{height}"
    label = escape(f"Reports per hour, last {n} hours: peak {int(max(values))}")
    return mark_safe(
        f'<svg class="sparkline sparkline-{escape(level)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{label}" '
        f'preserveAspectRatio="none">'
        f'<polygon class="sparkline-area" points="{area}"/>'
        f'<polyline class="sparkline-line" points="{line}"/></svg>'
    )


# Two drawings of each chart: a page shows the wide one, a phone the narrow one (site.css).
# One drawing scaled down to a phone would shrink its labels to about 5 px; the narrow one is
# drawn near the phone's width, so its labels stay about their size (>= 11 px at 390 px).
class _Size(TypedDict):
    width: int
    height: int
    labels: int
    variant: str


WIDE: _Size = {"width": 760, "height": 260, "labels": 7, "variant": "wide"}
NARROW: _Size = {"width": 340, "height": 230, "labels": 4, "variant": "narrow"}


def responsive_chart_svg(
    series: Series,
    *,
    highlight: Sequence[tuple[datetime, datetime | None]] = (),
    title: str = "",
    kind: str = "series",
) -> SafeString:
    """The wide and the narrow drawing of one chart, side by side in the markup."""
    return mark_safe(
        "".join(
            series_chart_svg(series, highlight=highlight, title=title, kind=kind, **size)
            for size in (WIDE, NARROW)
        )
    )


def series_chart_svg(
    series: Series,
    *,
    width: int = 760,
    height: int = 260,
    highlight: Sequence[tuple[datetime, datetime | None]] = (),
    title: str = "",
    per_minute: bool = True,
    kind: str = "series",
    labels: int = 7,
    variant: str = "wide",
) -> SafeString:
    """Observed reports per bucket as a line over the expected count and its normal band.

    per_minute plots rates (count / minutes covered): the newest bucket is still filling,
    and as a raw count it would look like a sudden drop at the right edge.
    `highlight` shades periods (outages) from start to end (None = still going).
    """
    left, right, top, bottom = 40, 12, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    points = series.points
    if not points:
        return mark_safe("")
    t0, t1 = series.start.timestamp(), series.end.timestamp()
    span = max(t1 - t0, 1.0)

    def per(p: SeriesPoint, value: float | None) -> float:
        return (value or 0.0) / p.minutes if per_minute else (value or 0.0)

    y_max = _nice_ceiling(
        max(max(per(p, p.observed), per(p, p.upper)) for p in points) * 1.1, floor=1.0
    )

    def x_at(seconds: float) -> float:
        return left + (min(max(seconds, t0), t1) - t0) / span * plot_w

    def y_at(value: float) -> float:
        return top + plot_h - (value / y_max) * plot_h

    # Each value is drawn at the middle of its bucket.
    mids = [x_at(p.at.timestamp() + p.minutes * 30) for p in points]
    # The wide drawing keeps the plain data-chart name (one per chart on a page).
    name = kind if variant == "wide" else f"{kind}-{variant}"
    title = escape(title or "Reports against the expected band")
    parts = [
        f'<svg class="chart chart-{escape(variant)}" data-chart="{escape(name)}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{title}" '
        f'preserveAspectRatio="xMidYMid meet">',
        f"<title>{title}</title>",
    ]
    for start, end in highlight:
        x0 = x_at(start.timestamp())
        x1 = x_at(end.timestamp() if end else t1)
        if x1 > x0:
            parts.append(
                f'<rect class="chart-outage" x="{x0:.1f}" y="{top}" '
                f'width="{x1 - x0:.1f}" height="{plot_h}"/>'
            )
    parts += _grid(left, top, plot_w, plot_h, y_max, y_at)
    parts += _time_axis(series, x_at, top + plot_h, labels=labels)
    if points[0].expected is not None:
        # The observed line keeps every bucket: it is the data. The expectation is a model's
        # smooth curve, drawn within half a pixel of exact (_simplified).
        upper_xs, upper = _simplified(mids, [y_at(per(p, p.upper)) for p in points])
        lower_xs, lower = _simplified(mids, [y_at(per(p, p.lower)) for p in points])
        band = _points(upper_xs + lower_xs[::-1], upper + lower[::-1])
        expected = _points(*_simplified(mids, [y_at(per(p, p.expected)) for p in points]))
        parts.append(f'<polygon class="chart-band" points="{band}"/>')
        parts.append(f'<polyline class="chart-expected" points="{expected}"/>')
    observed = _points(mids, [y_at(per(p, p.observed)) for p in points])
    parts.append(f'<polyline class="chart-observed" points="{observed}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _grid(left: int, top: int, plot_w: int, plot_h: int, y_max: float, y_at) -> list[str]:
    parts = []
    for i in range(5):
        value = y_max * i / 4
        y = y_at(value)
        label = _count_label(value)
        parts.append(
            f'<line class="chart-grid" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="chart-label" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{label}</text>"
        )
    return parts


def _count_label(value: float) -> str:
    """An axis count in at most three digits and a unit: 950, 12.5k, 3.2M, 1.25G (not
    "1.25e+06k" for a giant's outage)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.3g}"


# Label steps, in minutes: whole quarters and hours for hours-long charts, days beyond.
_LABEL_STEPS = (15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 5760, 10080)


def _time_axis(series: Series, x_at, baseline_y: float, *, labels: int = 7) -> list[str]:
    """Labels on whole quarters, hours or days, at most `labels` of them."""
    t0, t1 = series.start.timestamp(), series.end.timestamp()
    minutes = (t1 - t0) / 60
    step = next((m for m in _LABEL_STEPS if minutes / m <= labels), _LABEL_STEPS[-1])
    step_hours = step / 60
    first = math.ceil(t0 / (step * 60)) * step * 60
    parts = []
    at = first
    while at <= t1:
        x = x_at(at)
        moment = datetime.fromtimestamp(at, tz=series.start.tzinfo)
        text = f"{moment:%H:%M}" if step_hours < 24 else f"{moment.day} {moment:%b}"
        # UTC here; static/js/localtime.js relabels the ticks in the reader's zone.
        parts.append(
            f'<text class="chart-label" x="{x:.1f}" y="{baseline_y + 17:.1f}" '
            f'text-anchor="middle" data-tick="{moment.isoformat()}" '
            f'data-tick-format="{"clock" if step_hours < 24 else "day"}">{text}</text>'
        )
        at += step * 60
    return parts


# The shipped map (static/maps/world.svg): countries are paths with lower-case ISO ids under
# <g id="world">, with no fill of their own, so <use> colours them by class from site.css.
WORLD_MAP = "maps/world.svg"
WORLD_VIEWBOX = "0 0 1010 666"


def country_map_svg(rows: Sequence[Any], *, title: str = "") -> SafeString:
    """The world in grey with every country that has reports drawn over it in its colour:
    `map-ok` (reports, normal) or `map-possible`/`map-problems` with a shade 1-3 by excess.

    Only the coloured countries are in the page; the map itself is one cached static file.
    """
    href = escape(static(WORLD_MAP))
    label = escape(title or "Countries with reports")
    parts = [
        f'<svg class="world-map" data-map viewBox="{WORLD_VIEWBOX}" role="img" '
        f'aria-label="{label}"><title>{label}</title>',
        f'<use class="map-land" href="{href}#world"/>',
    ]
    for row in rows:
        code = str(row.country).lower()
        if len(code) != 2 or not code.isalpha():
            continue
        parts.append(
            f'<use class="map-country map-{escape(row.level)} map-shade-{int(row.shade)}" '
            f'data-country="{escape(row.country)}" href="{href}#{code}"/>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
