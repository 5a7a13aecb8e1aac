"""New (service, country) pairs become series only on evidence; cold refits are bounded."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from detection.models import OVERALL, Bucket, HourlyBucket, SeriesBaseline, SeriesState
from detection.services import baselines_refit
from detection.services.evidence import evidence_window
from detection.services.series import series_active
from reports.models import Service
from tests.detection.conftest import T0

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def _bucket(service, country, minute, counted):
    Bucket.objects.create(
        service=service, country=country, minute=minute, reports=counted, counted=counted
    )


def test_one_report_per_made_up_pair_makes_no_series(service, send_reports, settings):
    from detection.services import buckets_aggregate

    countries = ["DE", "FR", "IT", "ES", "PL", "NL", "SE", "NO", "FI", "DK"]
    for k, country in enumerate(countries):
        send_reports(service, T0 + k * M, 1, country=country)
    buckets_aggregate(now=T0 + 20 * M)
    assert Bucket.objects.exclude(country=OVERALL).count() == len(countries)
    mine = [key for key in series_active(now=T0 + 20 * M) if key[0] == service.pk]
    assert mine == [(service.pk, OVERALL)]


def test_a_pair_with_evidence_from_several_networks_is_a_series(service, settings):
    settings.SERIES_MIN_COUNTED = 3
    _bucket(service, "DE", T0, 2)
    assert (service.pk, "DE") not in series_active(now=T0 + M)
    _bucket(service, "DE", T0 + M, 1)
    assert (service.pk, "DE") in series_active(now=T0 + 2 * M)
    # ... until it has been idle for SERIES_IDLE_DAYS.
    later = T0 + dt.timedelta(days=settings.SERIES_IDLE_DAYS, minutes=2)
    assert (service.pk, "DE") not in series_active(now=later)


def test_cold_refits_are_bounded_per_run_and_take_turns(service, settings):
    settings.SERIES_MIN_COUNTED = 1
    settings.BASELINE_COLD_REFITS_PER_RUN = 2
    Service.objects.exclude(pk=service.pk).update(is_active=False)  # the loaded catalog
    countries = ["DE", "FR", "IT", "ES"]
    for country in countries:
        _bucket(service, country, T0, 1)
    first = baselines_refit(now=T0 + M, only_cold=True)
    assert first.fitted == 2
    fitted_first = set(SeriesBaseline.objects.values_list("country", flat=True))
    assert len(fitted_first) == 2
    second = baselines_refit(now=T0 + 2 * M, only_cold=True)
    assert second.fitted == 2
    fitted_now = set(SeriesBaseline.objects.values_list("country", flat=True))
    # Those never fitted came before those fitted in the first run.
    assert len(fitted_now) == 4 and fitted_now > fitted_first


def test_the_nightly_refit_is_a_chain_of_batches_that_fit_every_series_once(
    service, settings, monkeypatch
):
    # One task for every series outgrew the broker's visibility timeout and ran twice at
    # once (soak tester, forty-sixth session): a chain of BASELINE_REFIT_BATCH_SIZE each.
    from detection import tasks

    settings.SERIES_MIN_COUNTED = 1
    settings.BASELINE_REFIT_BATCH_SIZE = 2
    Service.objects.exclude(pk=service.pk).update(is_active=False)  # the loaded catalog
    for country in ["DE", "FR", "IT", "ES"]:
        _bucket(service, country, T0, 1)
    queued = []
    monkeypatch.setattr(tasks.baselines_refit_batch, "delay", lambda **kw: queued.append(kw))
    monkeypatch.setattr("django.utils.timezone.now", lambda: T0 + M)
    assert tasks.baselines_refit() == {"queued": (T0 + M).isoformat()}
    assert queued == [{"until": (T0 + M).isoformat(), "after": None}]
    assert SeriesBaseline.objects.count() == 0  # only queued
    # The batches run later than the start, each on the history up to the start's minute
    # (mutation tester, forty-seventh session: fitted up to the clock's, it passed).
    monkeypatch.setattr("django.utils.timezone.now", lambda: T0 + 5 * M)

    def run_the_chain() -> list[int]:
        fitted = []
        while queued:  # as the worker runs them, through JSON, each queueing the next
            batch = json.loads(json.dumps(queued.pop(0)))
            fitted.append(tasks.baselines_refit_batch(**batch)["fitted"])
            if batch["after"] is None and len(fitted) == 1:
                tasks.baselines_refit_batch(**batch)  # redelivered: no second chain
        return fitted

    assert run_the_chain() == [2, 2, 1]  # five series: four countries and the overall one
    keys = set(SeriesBaseline.objects.values_list("service_id", "country"))
    assert keys == {(service.pk, c) for c in ["", "DE", "FR", "IT", "ES"]}
    assert {row.fitted_at for row in SeriesBaseline.objects.all()} == {T0 + M}
    # The next night's chain passes the same series: it runs to its end too.
    monkeypatch.setattr("django.utils.timezone.now", lambda: T0 + 6 * M)
    assert tasks.baselines_refit() == {"queued": (T0 + 6 * M).isoformat()}
    assert run_the_chain() == [2, 2, 1]
    assert {row.fitted_at for row in SeriesBaseline.objects.all()} == {T0 + 6 * M}


def test_the_series_are_every_pair_the_rule_admits_sorted_once(make_service, settings):
    """Whole hours and newest minutes mixed at random, a busy pair without evidence and an
    inactive service: the keys are exactly the rule's, sorted as Python sorts them, once."""
    settings.SERIES_MIN_COUNTED = 3
    now = T0 + 30 * M
    first, until = evidence_window(now)
    Service.objects.update(is_active=False)  # the loaded catalog
    services = [make_service(f"adm-{k}") for k in range(4)]
    retired = services.pop()
    Service.objects.filter(pk=retired.pk).update(is_active=False)
    rng = np.random.default_rng(7)
    hours, minutes, expected = [], [], set()
    for service in [*services, retired]:
        for country in ("AT", "DE", "FR", "GB", "PL", "US", "ZA"):
            whole = int(rng.integers(0, 5)) * int(rng.random() < 0.7)
            newest = [int(rng.integers(1, 3)) for _ in range(int(rng.integers(0, 3)))]
            if whole:
                hours.append(
                    HourlyBucket(service=service, country=country, hour=first, counted=whole)
                )
            for k, counted in enumerate(newest):
                minutes.append(Bucket(service=service, country=country, minute=until + k * M,
                                      reports=counted, counted=counted))  # fmt: skip
            if service != retired and whole + sum(newest) >= 3:
                expected.add((service.pk, country))
    HourlyBucket.objects.bulk_create(hours)
    Bucket.objects.bulk_create(minutes)
    SeriesState.objects.create(service=services[0], country="JP", minute=now, state=1)
    SeriesState.objects.create(service=retired, country="JP", minute=now, state=1)
    expected |= {(s.pk, OVERALL) for s in services} | {(services[0].pk, "JP")}
    assert 0 < len(expected) - 4 < 3 * 7  # some pairs in, some out
    assert series_active(now=now) == sorted(expected)
