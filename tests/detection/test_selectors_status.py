"""detection.selectors and detection.charts on real rows: the numbers behind pages and API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from detection import charts, selectors
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    cold_baseline,
    country_state_make,
    flat_baseline,
    hourly_make,
    minute_now,
)

pytestmark = pytest.mark.django_db


def _minute(at: datetime) -> int:
    return int(at.timestamp()) // 60


def test_band_follows_the_negative_binomial_variance(service):
    baseline = flat_baseline(4.0, dispersion=0.2)  # level part 0.1
    baseline_store(service, baseline)
    end = _minute(minute_now())

    one = selectors.series_build(service=service, country="", end_minute=end, step=1, count=5)
    fifteen = selectors.series_build(
        service=service, country="", end_minute=end - end % 15, step=15, count=4
    )

    p = one.points[0]
    sd = np.sqrt(4.0 + 0.2 * 4.0**2)
    assert (p.expected, p.lower, p.upper) == pytest.approx((4.0, 0.0, 4.0 + 2 * sd), abs=1e-3)
    # Summed buckets: only the independent part of the dispersion shrinks.
    q = fifteen.points[0]
    alpha = 0.1 + 0.1 / 15
    assert q.upper == pytest.approx(60.0 + 2 * np.sqrt(60.0 + alpha * 3600.0), abs=1e-3)


def test_partial_newest_bucket_expects_only_the_minutes_passed(service):
    baseline_store(service, flat_baseline(2.0))
    end = _minute(minute_now())
    end -= end % 15
    series = selectors.series_build(
        service=service, country="", end_minute=end + 7, step=15, count=3
    )
    newest = series.points[-1]
    assert (newest.minutes, newest.complete) == (7, False)
    assert newest.expected == pytest.approx(14.0)
    assert [p.complete for p in series.points[:-1]] == [True, True]


def test_cold_start_baseline_still_gives_a_band(service):
    baseline_store(service, cold_baseline())
    series = selectors.series_window(service=service, window="1h", resolution="1m")
    assert series.baseline_method == "prior"
    assert all(p.expected == pytest.approx(0.1) and p.upper > 0.1 for p in series.points)


def test_hourly_series_prefers_the_larger_of_rollup_and_minutes(service):
    now = minute_now()
    hour = now.replace(minute=0) - timedelta(hours=3)
    buckets_make(service, {hour + timedelta(minutes=5): 4, hour + timedelta(minutes=9): 3})
    hourly_make(service, hour, 5)  # a stale rollup written before the late minute arrived
    series = selectors.series_window(service=service, window="24h", resolution="1h")
    by_hour = {p.at: p.observed for p in series.points}
    assert by_hour[hour] == 7


def test_an_outage_older_than_the_minute_buckets_is_charted_from_the_hourly_rollups(
    service, settings
):
    # Two hours of a 40-day-old outage would be charted by the minute, from minute buckets
    # that the nightly purge deleted after BUCKET_RETENTION_DAYS: a flat line of zeros.
    settings.BUCKET_RETENTION_DAYS = 35
    start = minute_now().replace(minute=0) - timedelta(days=40)
    for k, n in enumerate((30, 600, 40)):
        hourly_make(service, start + timedelta(hours=k), n)
    series = selectors.series_between(service=service, start=start, end=start + timedelta(hours=2))
    assert series.step_minutes == 60
    assert [p.observed for p in series.points] == [30, 600]
    recent = minute_now() - timedelta(days=2)
    assert (
        selectors.series_between(
            service=service, start=recent, end=recent + timedelta(hours=2)
        ).step_minutes
        == 1
    )


def test_a_chart_between_two_moments_off_its_grid_starts_with_the_bucket_holding_the_first(
    service, midday
):
    """Maintainer review (forty-third session): off the step's grid, the first bucket began
    up to a step after `start` (an outage page's lead-in cut short)."""
    start = datetime(2026, 11, 25, 6, 7, tzinfo=UTC)
    series = selectors.series_between(service=service, start=start, end=start + timedelta(hours=5))
    assert series.step_minutes == 15
    assert series.start == start.replace(minute=0)  # 06:00-06:15 holds 06:07
    assert series.points[-1].at == datetime(2026, 11, 25, 11, 0, tzinfo=UTC)  # holds 11:06


def test_sparklines_cover_24_hours_for_services_with_reports(service, make_service):
    quiet = make_service("quiet")
    now = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    buckets_make(
        service,
        {
            now - timedelta(minutes=5): 3,
            now - timedelta(minutes=50): 2,
            now - timedelta(hours=23): 9,
        },
    )
    buckets_make(service, {now - timedelta(days=2): 100})
    lines = selectors.sparklines(now=now)
    assert quiet.pk not in lines
    line = lines[service.pk]
    assert len(line) == 24
    assert line[-1] == 3 and line[-2] == 2 and line[0] == 9 and sum(line) == 14


def test_country_breakdown_sorts_by_reports_and_carries_levels(service):
    now = minute_now()
    buckets_make(service, {now - timedelta(minutes=2): 3}, country="FR")
    buckets_make(service, {now - timedelta(minutes=2): 8}, country="DE")
    buckets_make(service, {now - timedelta(days=2): 50}, country="US")
    country_state_make(service, "DE", 1)
    rows = selectors.country_breakdown(service=service)
    assert [(r["country"], r["count"], r["level"]) for r in rows] == [
        ("DE", 8, "possible"),
        ("FR", 3, "ok"),
    ]
    assert rows[0]["name"] == "Germany"


def test_sparkline_svg_is_escaped_and_empty_without_data():
    assert charts.sparkline_svg([]) == ""
    svg = charts.sparkline_svg([0, 1, 5], level='"><script>')
    assert "<script>" not in svg and "<polyline" in svg


def test_chart_without_baseline_draws_only_the_observed_line(service):
    svg = charts.series_chart_svg(selectors.series_window(service=service, window="6h"))
    assert 'class="chart-observed"' in svg
    assert "chart-band" not in svg and "chart-expected" not in svg
