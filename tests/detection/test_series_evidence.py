"""series_active's evidence: whole hours summed from the rollups and moved hour by hour, the
newest minutes from the minute buckets (detection.services.evidence)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from detection.models import OVERALL, Bucket, HourlyBucket, JobCursor, SeriesEvidence
from detection.services import buckets_aggregate
from detection.services.evidence import evidence_advance, evidence_window
from detection.services.series import series_active
from tests.detection.conftest import T0

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


def summed() -> dict:
    return {(e.service_id, e.country): e.counted for e in SeriesEvidence.objects.all()}


def by_hand(first: dt.datetime, until: dt.datetime) -> dict:
    sums: dict = {}
    for h in HourlyBucket.objects.filter(hour__gte=first, hour__lt=until).exclude(country=OVERALL):
        if h.counted > 0:
            key = (h.service_id, h.country)
            sums[key] = sums.get(key, 0) + h.counted
    return sums


def test_the_sums_move_hour_by_hour_as_a_recount_would(make_service):
    services = [make_service(f"ev-{k}") for k in range(3)]
    rng = np.random.default_rng(2)
    rows = []
    for k in range(10 * 24):
        hour = T0 - 9 * 24 * H + k * H
        for service in services:
            for country in (OVERALL, "DE", "FR"):
                n = int(rng.poisson(0.3))
                rows.append(HourlyBucket(service=service, country=country, hour=hour,
                                         reports=n, counted=n, reporters=n))  # fmt: skip
    HourlyBucket.objects.bulk_create(rows)
    # Forward hour by hour, back one (the cold refit's minute can be behind the tick's), a
    # jump (recount), and a call inside an hour that changes nothing.
    for now in [T0, T0 + H, T0 + 2 * H, T0 + H, T0 + 3 * H + 20 * M, T0 + 60 * H, T0 + 60 * H]:
        first, until = evidence_advance(now=now)
        assert (first, until) == evidence_window(now)
        assert summed() == by_hand(first, until), now
        assert JobCursor.objects.get(name="evidence").position == until


def test_a_pair_counts_whole_hours_and_the_newest_minutes(service, settings):
    settings.SERIES_MIN_COUNTED = 3
    now = T0 + 30 * M
    first, _ = evidence_window(now)
    HourlyBucket.objects.create(service=service, country="DE", hour=first, counted=2)
    Bucket.objects.create(service=service, country="DE", minute=now - 2 * M, counted=1)
    assert (service.pk, "DE") in series_active(now=now)
    # An hour later the oldest hour has left the window.
    assert (service.pk, "DE") not in series_active(now=now + H)
    assert (service.pk, "DE") in series_active(now=now)  # and back (a call about the past)


def test_a_backfill_of_summed_hours_makes_the_next_call_sum_afresh(service, send_reports):
    now = T0 + 3 * H
    send_reports(service, T0 + 5 * M, 2, country="FR")
    buckets_aggregate(now=T0 + 10 * M)
    _, until = evidence_advance(now=now)
    assert until > T0 and summed() == {(service.pk, "FR"): 2}
    # Reports written into the past, then aggregated from there.
    send_reports(service, T0 + 7 * M, 3, country="FR")
    buckets_aggregate(now=now, since=T0)
    assert not JobCursor.objects.filter(name="evidence").exists()
    evidence_advance(now=now)
    assert summed() == {(service.pk, "FR"): 5}
