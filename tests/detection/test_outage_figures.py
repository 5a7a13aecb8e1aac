"""The figures an outage quotes: its "normal" (the one its chart draws, for the same minute)
and its peak (a minute its total covers)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from detection.models import Outage, ServiceStatus
from detection.selectors import series_between
from detection.services import buckets_aggregate, detect_tick
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
