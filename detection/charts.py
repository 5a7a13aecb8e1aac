"""Server-side SVG: sparklines for the catalog and the reports-vs-expected chart.

Drawn on the server so pages work without JavaScript, cost no extra request and need no
chart library. Only numbers and escaped text go into the markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

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


def series_chart_svg(
    series: Series,
    *,
    width: int = 760,
    height: int = 260,
    highlight: Sequence[tuple[datetime, datetime | None]] = (),
    title: str = "",
    per_minute: bool = True,
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
    parts = [
        f'<svg class="chart" data-chart="series" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="chart-title" preserveAspectRatio="xMidYMid meet">',
        f'<title id="chart-title">{escape(title or "Reports against the expected band")}</title>',
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
    parts += _time_axis(series, x_at, top + plot_h)
    if points[0].expected is not None:
        upper = [y_at(per(p, p.upper)) for p in points]
        lower = [y_at(per(p, p.lower)) for p in points]
        band = _points(mids + mids[::-1], upper + lower[::-1])
        expected = _points(mids, [y_at(per(p, p.expected)) for p in points])
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
        label = f"{value:.3g}" if value < 1000 else f"{value / 1000:.3g}k"
        parts.append(
            f'<line class="chart-grid" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="chart-label" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{label}</text>"
        )
    return parts


def _time_axis(series: Series, x_at, baseline_y: float) -> list[str]:
    """Labels on whole hours (or days for long windows), about six of them."""
    t0, t1 = series.start.timestamp(), series.end.timestamp()
    hours = (t1 - t0) / 3600
    step_hours = next((h for h in (1, 2, 3, 4, 6, 12, 24, 48, 96, 168) if hours / h <= 7), 168)
    first = math.ceil(t0 / (step_hours * 3600)) * step_hours * 3600
    parts = []
    at = first
    while at <= t1:
        x = x_at(at)
        moment = datetime.fromtimestamp(at, tz=series.start.tzinfo)
        text = f"{moment:%H:%M}" if step_hours < 24 else f"{moment.day} {moment:%b}"
        parts.append(
            f'<text class="chart-label" x="{x:.1f}" y="{baseline_y + 17:.1f}" '
            f'text-anchor="middle">{text}</text>'
        )
        at += step_hours * 3600
    return parts
