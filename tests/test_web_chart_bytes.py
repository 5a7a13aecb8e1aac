"""What a chart costs a page: the expected count and its band, a model's smooth curve, draw as
the few points they need; the observed reports keep one point per bucket. The charts were two
thirds of a busy service page's bytes and of every live.json it polls (bench/web/README.md)."""

from __future__ import annotations

import itertools
import math
import random
import re
from datetime import UTC, datetime, timedelta

from detection.charts import SIMPLIFY_TOLERANCE, responsive_chart_svg
from detection.selectors import Series, SeriesPoint

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
MINUTES = 360  # the service page's live chart: six hours of minutes


def _series() -> Series:
    """Six hours of a busy service: the expectation rises through the morning and steps up at
    a release (a corner the drawing must keep); the reports are Poisson noise around it."""
    rng = random.Random(7)
    points = []
    for k in range(MINUTES):
        expected = 30 + 20 * math.sin(k / MINUTES * math.pi) + (15 if k >= 200 else 0)
        observed = sum(rng.random() < expected / 100 for _ in range(100))
        points.append(
            SeriesPoint(
                at=START + timedelta(minutes=k), minutes=1, complete=True, observed=observed,
                expected=expected, lower=expected * 0.6, upper=expected * 1.5,
            )
        )  # fmt: skip
    return Series(
        service=None, country="", step_minutes=1, start=START,  # type: ignore[arg-type]
        end=START + timedelta(minutes=MINUTES), baseline_method="hgb", points=points,
    )  # fmt: skip


def _line(svg: str, kind: str) -> list[tuple[float, float]]:
    raw = re.search(rf'class="chart-{kind}" points="([^"]+)"', svg).group(1)
    return [(float(x), float(y)) for x, y in (p.split(",") for p in raw.split())]


def _drawings() -> list[str]:
    markup = str(responsive_chart_svg(_series(), title="Reports"))
    drawings = re.findall(r"<svg\b.*?</svg>", markup, re.S)
    assert len(drawings) == 2  # wide and narrow
    return drawings


def _distance_to_line(x: float, y: float, line: list[tuple[float, float]]) -> float:
    best = math.inf
    for (x0, y0), (x1, y1) in itertools.pairwise(line):
        dx, dy = x1 - x0, y1 - y0
        t = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy or 1)))
        best = min(best, math.hypot(x - x0 - t * dx, y - y0 - t * dy))
    return best


def test_expected_band_costs_less_than_the_reports_it_frames():
    for svg in _drawings():
        observed = _line(svg, "observed")
        assert len(observed) == MINUTES  # every bucket of the data is drawn
        band, expected = _line(svg, "band"), _line(svg, "expected")
        # Before: the band was 2 x 360 points and the expected line 360 more, three times the
        # observed line's bytes; a smooth curve needs a handful of segments per bend.
        assert len(band) + len(expected) < len(observed) / 4
        observed_bytes = len(re.search(r'class="chart-observed" points="[^"]+"', svg).group())
        assert len(svg) < 1.5 * observed_bytes + 3000  # axes, labels and title: ~2 kB


def test_simplified_expectation_stays_within_half_a_pixel_of_exact():
    series = _series()
    for svg in _drawings():
        observed = _line(svg, "observed")
        # The drawing's y for a count per minute, read off two observed points.
        (_, ya), (_, yb) = observed[0], observed[-1]
        va, vb = series.points[0].observed, series.points[-1].observed
        scale = (yb - ya) / (vb - va)

        def y_of(value: float, ya: float = ya, va: float = va, scale: float = scale) -> float:
            return ya + (value - va) * scale

        expected = _line(svg, "expected")
        band = _line(svg, "band")
        # The band's outline runs along its upper edge, then back along its lower one.
        turn = next(i for i in range(1, len(band)) if band[i][0] <= band[i - 1][0])
        upper, lower = band[:turn], band[turn:]
        for (x, _), p in zip(observed, series.points, strict=True):
            # The tolerance, and the tenth of a unit every coordinate is rounded to.
            allowed = SIMPLIFY_TOLERANCE + 0.15
            assert _distance_to_line(x, y_of(p.expected), expected) <= allowed
            assert _distance_to_line(x, y_of(p.upper), upper) <= allowed
            assert _distance_to_line(x, y_of(p.lower), lower) <= allowed
