"""Chart ticks carry their instant, so the reader's browser can label them in its own zone;
count labels stay short."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from detection.charts import series_chart_svg
from detection.selectors import Series, SeriesPoint

START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _chart(observed: list[int]) -> str:
    """The chart of one count a minute from START, no baseline."""
    points = [
        SeriesPoint(at=START + timedelta(minutes=k), minutes=1, complete=True, observed=n,
                    expected=None, lower=None, upper=None)
        for k, n in enumerate(observed)
    ]  # fmt: skip
    series = Series(
        service=None, country="", step_minutes=1, start=START,
        end=START + timedelta(minutes=len(observed)), baseline_method=None, points=points,
    )  # fmt: skip
    return str(series_chart_svg(series))


def test_ticks_carry_their_utc_instant():
    svg = _chart([2] * 360)
    ticks = re.findall(r'data-tick="([^"]+)" data-tick-format="(\w+)">([^<]+)<', svg)
    assert len(ticks) >= 3 and all(fmt == "clock" for _, fmt, _ in ticks)
    for instant, _, label in ticks:
        assert datetime.fromisoformat(instant).strftime("%H:%M") == label


def test_count_labels_keep_three_digits_and_a_unit():
    svg = _chart([2**31 if k == 30 else 5 for k in range(60)])
    labels = re.findall(r'class="chart-label"[^>]*text-anchor="end">([^<]+)<', svg)
    assert len(labels) == 5 and labels[0] == "0"
    assert all(re.fullmatch(r"\d+(\.\d+)?[kMG]?", label) for label in labels), labels
    assert labels[-1].endswith("G")
