"""The figures an outage quotes: its "normal" (the one its chart draws, for the same minute)
and its peak (a minute its total covers)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from detection.models import Outage, ServiceStatus
from detection.selectors import series_between
from detection.services import buckets_aggregate, detect_tick
from detection.services.outage_tally import outage_recount
from tests.detection.conftest import T0, history_fill

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def _chart_normal(service, minute: dt.datetime) -> float:
    """What the chart of the service's overall series draws as the minute's normal."""
    point = series_between(service=service, start=minute, end=minute + M).points[0]
    assert point.minutes == 1 and point.expected is not None
    return point.expected


def test_the_normal_quoted_during_an_outage_is_the_charts_and_does_not_grow_with_it(
    service, send_reports, monkeypatch
):
    """The status said "where about 8 are normal" under a chart saying "about 6" for the same
    minute, and its normal grew with the outage's own minutes (the level tracker's lift),
    into "At the peak: ... where about 7 are normal" in every message (words tester F6)."""
    history_fill(service, {"DE": 6.0})
    quoted = []
    for k in range(25):
        minute = T0 + k * M
        send_reports(service, minute, 6, country="DE")
        if k >= 5:
            send_reports(service, minute, 30 + k, country="DE", problem="app")
        now = minute + M + dt.timedelta(seconds=2)
        monkeypatch.setattr(timezone, "now", lambda now=now: now)
        buckets_aggregate(now=now)
        detect_tick(now=now)
        status = ServiceStatus.objects.get(service=service)
        quoted.append((status.expected, _chart_normal(service, minute)))
    outage = Outage.objects.get(service=service)
    assert outage.is_active and status.level == 2
    for said, drawn in quoted:
        assert said == pytest.approx(drawn, abs=1e-3)
    assert outage.peak_expected == pytest.approx(_chart_normal(service, outage.peak_at), abs=1e-3)
    opened = outage.events.get(kind="opened")
    assert opened.expected == pytest.approx(_chart_normal(service, opened.since), abs=1e-3)


# A new service's first outage, as `simulate live chatgpt --rate 3 --outage-at 3
# --outage-minutes 18 --outage-rate 40 --countries US,DE,GB` sent it (counted a minute).
_COLD_OUTAGE = [37, 41, 35, 49, 45, 33, 35, 59, 44, 50, 38, 42, 55, 36, 47, 40, 52, 39]


def _covered_until(outage: Outage) -> dt.datetime:
    """The end of the minutes the outage's total counts (from its start)."""
    end = outage.started_at
    while outage_recount(outage, end).total <= outage.total_reports and end <= T0 + 60 * M:
        end += M
    assert outage_recount(outage, end - M).total == outage.total_reports
    return end


def test_a_cold_start_outages_peak_is_a_minute_its_total_counts(
    make_service, send_reports, monkeypatch
):
    """A new service's level catches up with its outage, whose later minutes then count as
    quiet: its "so far" paused at the last elevated minute while its peak moved on to a
    later one, "At the peak: about 59 reports a minute ... 213 reports so far" with the 59 not
    among the 213 (regression tester F3)."""
    fresh = make_service("fresh", watched_since=T0)
    seen = []
    for k in range(3 + len(_COLD_OUTAGE)):
        minute = T0 + k * M
        n = 3 if k < 3 else _COLD_OUTAGE[k - 3]
        for country, share in (("US", 0.5), ("DE", 0.3), ("GB", 0.2)):
            send_reports(fresh, minute, round(n * share), country=country)
        now = minute + M + dt.timedelta(seconds=2)
        monkeypatch.setattr(timezone, "now", lambda now=now: now)
        buckets_aggregate(now=now)
        detect_tick(now=now)
        outage = Outage.objects.filter(service=fresh).first()
        if outage is not None:
            until = _covered_until(outage)
            seen.append((minute, outage.peak_at, until))
            chart = series_between(service=fresh, start=outage.started_at, end=until)
            assert outage.peak_observed == max(p.observed for p in chart.points)
    assert seen, "the new service's first outage must open"
    # The situation of the finding: the total paused while reports went on.
    assert any(until <= minute for minute, _, until in seen)
    assert all(peak < until for _, peak, until in seen)
