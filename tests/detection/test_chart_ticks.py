"""Chart ticks carry their instant, so the reader's browser can label them in its own zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from detection.charts import series_chart_svg
from detection.selectors import Series, SeriesPoint


def test_ticks_carry_their_utc_instant():
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    points = [
        SeriesPoint(at=start + timedelta(minutes=k), minutes=1, complete=True, observed=2,
                    expected=None, lower=None, upper=None)
        for k in range(360)
    ]  # fmt: skip
    series = Series(
        service=None, country="", step_minutes=1, start=start,
        end=start + timedelta(hours=6), baseline_method=None, points=points,
    )  # fmt: skip
    svg = str(series_chart_svg(series))
    ticks = re.findall(r'data-tick="([^"]+)" data-tick-format="(\w+)">([^<]+)<', svg)
    assert len(ticks) >= 3 and all(fmt == "clock" for _, fmt, _ in ticks)
    for instant, _, label in ticks:
        assert datetime.fromisoformat(instant).strftime("%H:%M") == label


def test_count_labels_keep_three_digits_and_a_unit():
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    points = [
        SeriesPoint(at=start + timedelta(minutes=k), minutes=1, complete=True,
                    observed=2**31 if k == 30 else 5, expected=None, lower=None, upper=None)
        for k in range(60)
    ]  # fmt: skip
    series = Series(
        service=None, country="", step_minutes=1, start=start,
        end=start + timedelta(hours=1), baseline_method=None, points=points,
    )  # fmt: skip
    labels = re.findall(
        r'class="chart-label"[^>]*text-anchor="end">([^<]+)<', str(series_chart_svg(series))
    )
    assert len(labels) == 5 and labels[0] == "0"
    assert all(re.fullmatch(r"\d+(\.\d+)?[kMG]?", label) for label in labels), labels
    assert labels[-1].endswith("G")
