"""New (service, country) pairs become series only on evidence; cold refits are bounded."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from detection.models import OVERALL, Bucket, SeriesBaseline, SeriesSite, SeriesState
from detection.services import baselines_refit, buckets_aggregate, retention_purge
from detection.services.series import series_active
from detection.services.sites import sites_window
from reports.models import Report, Service
from reports.services import report_create
from tests.detection.conftest import T0, sites_admit

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def test_one_report_per_made_up_pair_makes_no_series(service, send_reports, settings):
    countries = ["DE", "FR", "IT", "ES", "PL", "NL", "SE", "NO", "FI", "DK"]
    for k, country in enumerate(countries):
        send_reports(service, T0 + k * M, 1, country=country)
    buckets_aggregate(now=T0 + 20 * M)
    assert Bucket.objects.exclude(country=OVERALL).count() == len(countries)
    mine = [key for key in series_active(now=T0 + 20 * M) if key[0] == service.pk]
    assert mine == [(service.pk, OVERALL)]


def test_a_pair_with_counted_reports_from_several_sites_is_a_series(
    service, send_reports, settings
):
    settings.SERIES_MIN_SITES = 3
    send_reports(service, T0, 2, country="DE")
    buckets_aggregate(now=T0 + 10 * M)
    assert (service.pk, "DE") not in series_active(now=T0 + 10 * M)
    send_reports(service, T0 + 10 * M, 1, country="DE")
    buckets_aggregate(now=T0 + 20 * M)
    assert (service.pk, "DE") in series_active(now=T0 + 20 * M)
    # ... until it has been idle for SERIES_IDLE_DAYS (and at most an eighth more: the sites
    # of a pair that has its K are not recorded again for that long).
    idle = dt.timedelta(days=settings.SERIES_IDLE_DAYS)
    assert (service.pk, "DE") in series_active(now=T0 + 11 * M + idle)
    assert (service.pk, "DE") not in series_active(now=T0 + 11 * M + idle + idle / 8)


def _send(service, problem, address: str, minute: dt.datetime, country: str) -> Report:
    return report_create(service=service, problem=problem, country=country,
                         source=Report.Source.API, address=address, now=minute)  # fmt: skip


@pytest.mark.parametrize(
    "addresses",
    [
        ["198.51.100.77"] * 3,  # one address, a dedup window apart
        ["198.51.100.7", "198.51.100.77", "198.51.100.177"],  # one IPv4 /24
        ["2001:db8:1:100::1", "2001:db8:1:200::1", "2001:db8:1:300::1"],  # three /56 of a /48
    ],
    ids=["one-address", "one-ipv4-site", "one-ipv6-site"],
)
def test_one_site_makes_no_series_however_many_counted_reports(
    make_service, problem_types, settings, addresses
):
    """Abuse tester F3 (forty-eighth session): one address at its rate limit named a made-up
    country on 100 services, three counted reports each, and made 80 series in half an hour."""
    settings.SERIES_MIN_SITES = 3
    services = [make_service(f"tv-{k}") for k in range(3)]
    gap = dt.timedelta(minutes=settings.REPORT_DEDUP_WINDOW_MINUTES + 1)
    for k, address in enumerate(addresses):
        for service in services:
            _send(service, problem_types["login"], address, T0 + k * gap, "TV")
    now = T0 + 3 * gap
    buckets_aggregate(now=now)
    counted = Report.objects.filter(country="TV", counted=True).count()
    assert counted == 3 * len(services)  # each counted: the dedup window passed, or a new /56
    assert not [key for key in series_active(now=now) if key[1] == "TV"]
    # Other sites make it a series, each with one counted report.
    for k in range(2):
        _send(services[0], problem_types["login"], f"203.0.{113 + k}.9", now, "TV")
    buckets_aggregate(now=now + 2 * M)
    assert [key for key in series_active(now=now + 2 * M) if key[1] == "TV"] == [
        (services[0].pk, "TV")
    ]


def test_one_host_with_every_site_it_can_hold_makes_no_series(make_service, problem_types):
    """The default: one host's IPv4, its 6to4 form (the same site), its own IPv6 /48, a tunnel
    broker's /48 and a phone's network made 95 series in a minute at three sites (abuse tester,
    fiftieth session)."""
    services = [make_service(f"host-{k}") for k in range(3)]
    host = ["203.0.113.60", "2002:cb00:713c::1", "2a01:4f8:9:2::5", "2001:470:beef::1",
            "198.51.100.20"]  # fmt: skip
    for service in services:
        for address in host:
            _send(service, problem_types["login"], address, T0, "TV")
    now = T0 + 5 * M
    buckets_aggregate(now=now)
    assert Report.objects.filter(country="TV", counted=True).count() == 4 * len(services)
    assert not [key for key in series_active(now=now) if key[1] == "TV"]
    _send(services[0], problem_types["login"], "192.0.2.44", T0 + 5 * M, "TV")  # another home
    buckets_aggregate(now=T0 + 10 * M)
    assert [key for key in series_active(now=T0 + 10 * M) if key[1] == "TV"] == [
        (services[0].pk, "TV")
    ]


def test_each_pair_keeps_its_latest_sites_and_a_flood_is_not_regrouped(
    service, send_reports, settings
):
    settings.SERIES_MIN_SITES = 3
    send_reports(service, T0, 5, country="DE")
    buckets_aggregate(now=T0 + 2 * M)
    # At most K a span: the latest.
    assert SeriesSite.objects.filter(country="DE").count() == 3
    # The pair has its K from the last eighth of the idle window: the next minutes' sites
    # are not regrouped, and the rows stand.
    before = set(SeriesSite.objects.values_list("site_key", "last_seen"))
    send_reports(service, T0 + 2 * M, 20, country="DE")
    buckets_aggregate(now=T0 + 4 * M)
    assert set(SeriesSite.objects.values_list("site_key", "last_seen")) == before
    # Once they are older than that, new sites are recorded again, and the daily purge keeps
    # each pair's K latest.
    later = T0 + dt.timedelta(days=1)
    send_reports(service, later, 4, country="DE")
    buckets_aggregate(now=later + 2 * M)
    assert SeriesSite.objects.filter(country="DE").count() == 6
    retention_purge(now=later + 3 * M)
    kept = SeriesSite.objects.filter(country="DE")
    assert len(kept) == 3 and all(site.last_seen >= later for site in kept)
    assert (service.pk, "DE") in series_active(now=later + 3 * M)


def test_cold_refits_are_bounded_per_run_and_take_turns(service, settings):
    settings.BASELINE_COLD_REFITS_PER_RUN = 2
    Service.objects.exclude(pk=service.pk).update(is_active=False)  # the loaded catalog
    countries = ["DE", "FR", "IT", "ES"]
    for country in countries:
        _bucket(service, country, T0, 1)
        sites_admit(service, country, T0)
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

    settings.BASELINE_REFIT_BATCH_SIZE = 2
    Service.objects.exclude(pk=service.pk).update(is_active=False)  # the loaded catalog
    for country in ["DE", "FR", "IT", "ES"]:
        _bucket(service, country, T0, 1)
        sites_admit(service, country, T0)
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


def _bucket(service, country, minute, counted):
    Bucket.objects.create(
        service=service, country=country, minute=minute, reports=counted, counted=counted
    )


def test_the_series_are_every_pair_the_rule_admits_sorted_once(make_service, settings):
    """Sites within the window and older ones mixed at random, a busy pair without sites and
    an inactive service: the keys are exactly the rule's, sorted as Python sorts them, once."""
    settings.SERIES_MIN_SITES = 3
    now = T0 + 30 * M
    first = sites_window(now)
    Service.objects.update(is_active=False)  # the loaded catalog
    services = [make_service(f"adm-{k}") for k in range(4)]
    retired = services.pop()
    Service.objects.filter(pk=retired.pk).update(is_active=False)
    rng = np.random.default_rng(7)
    rows, expected = [], set()
    for service in [*services, retired]:
        for country in ("AT", "DE", "FR", "GB", "PL", "US", "Za", "ZA"):
            within = int(rng.integers(0, 5))
            older = int(rng.integers(0, 3))
            for k in range(within + older):
                seen = first + k * M if k < within else first - (k + 1) * M
                rows.append(SeriesSite(service=service, country=country, site_key=f"s{k}",
                                       last_seen=seen))  # fmt: skip
            if service != retired and within >= 3:
                expected.add((service.pk, country))
    SeriesSite.objects.bulk_create(rows)
    SeriesState.objects.create(service=services[0], country="JP", minute=now, state=1)
    SeriesState.objects.create(service=retired, country="JP", minute=now, state=1)
    expected |= {(s.pk, OVERALL) for s in services} | {(services[0].pk, "JP")}
    assert 0 < len(expected) - 4 < 3 * 8  # some pairs in, some out
    assert series_active(now=now) == sorted(expected)
