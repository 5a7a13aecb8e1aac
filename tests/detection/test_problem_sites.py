"""The service page's problems of the last 24 hours list a problem only from more sites than
one host can hold (ProblemSite, detection.services.sites), on both aggregation paths (the
buckets' own statement on PostgreSQL, sites_record on SQLite)."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields

import pytest

from detection import selectors, tasks
from detection.models import ProblemSite
from detection.services import buckets_aggregate, retention_purge
from detection.services.config import listing_sites
from detection.services.retention import RetentionPurged
from detection.services.sites import PROBLEM_WINDOW
from reports.models import Report
from reports.services import report_create
from tests.conftest import crowd_address
from tests.detection.conftest import T0

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
# One host's four sites: its IPv4 /24, its own IPv6 /48, a tunnel broker's /48, a phone's.
HOST = ["203.0.113.60", "2a01:4f8:9:2::5", "2001:470:beef::1", "198.51.100.20"]
END = T0 + 24 * H


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Whatever reads the clock sees the end of the day these tests build."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: END + dt.timedelta(seconds=30))


def _send(service, problem, address: str, at: dt.datetime) -> Report:
    return report_create(service=service, problem=problem, country="DE",
                         source=Report.Source.API, address=address, now=at)  # fmt: skip


def _breakdown(service, now: dt.datetime) -> dict[str, tuple[int, int]]:
    rows = selectors.problem_breakdown(service=service, now=now)
    return {row["problem"]: (row["count"], row["percent"]) for row in rows}


def test_one_hosts_sites_naming_a_problem_all_day_do_not_list_it_a_fifth_site_does(
    service, problem_types
):
    """One host's four sites named "Website" every 15 minutes all day: the page said
    "Website 100 %" on a quiet service. Counted each time (a new dedup window), in hourly
    runs of the aggregation (its freshness shortcut at work); "Login" from five homes once."""
    assert listing_sites() == len(HOST) + 1
    gap = dt.timedelta(minutes=16)  # past each site's dedup window
    at = T0
    while at < END - H:
        for address in HOST:
            _send(service, problem_types["website"], address, at)
        at += gap
    for k in range(5):
        _send(service, problem_types["login"], crowd_address(k), T0 + 3 * H)
    for hour in range(1, 25):
        buckets_aggregate(now=T0 + hour * H)
    website = Report.objects.filter(problem=problem_types["website"], counted=True).count()
    assert website > 300

    assert _breakdown(service, END) == {"login": (5, 100)}
    # Another home names it once: five sites within the day.
    _send(service, problem_types["website"], crowd_address(9), END - 30 * M)
    buckets_aggregate(now=END + M)
    # The day's: the minutes after END + M - 24 h.
    day = Report.objects.filter(
        problem=problem_types["website"], counted=True, created_at__gte=T0 + 2 * M
    ).count()
    assert day == website - len(HOST) + 1
    assert _breakdown(service, END + M) == {
        "website": (day, round(100 * day / (day + 5))),
        "login": (5, round(100 * 5 / (day + 5))),
    }


def test_sites_older_than_the_day_do_not_count(service, problem_types):
    """Four sites within the day and one before it (past the hour the shortcut may add)."""
    _send(service, problem_types["app"], "192.0.2.10", T0 - 2 * H)
    for address in HOST:
        _send(service, problem_types["app"], address, T0 + 20 * H)
    buckets_aggregate(now=T0 - H)
    buckets_aggregate(now=END)
    assert _breakdown(service, END) == {}
    # Within the day, the same five list it.
    assert _breakdown(service, T0 + 21 * H) == {"app": (5, 100)}


def test_a_problems_newer_sites_are_recorded_once_its_latest_are_an_hour_old(
    service, problem_types
):
    """Its K latest sites stand unrecorded for an hour only (the series' 21 hours would keep
    a problem whose day's sites all came after its first K out of the breakdown)."""
    for k in range(5):
        _send(service, problem_types["app"], crowd_address(k), T0)
    buckets_aggregate(now=T0 + H)
    for k in range(5):
        _send(service, problem_types["app"], crowd_address(10 + k), T0 + 3 * H)
    buckets_aggregate(now=T0 + 4 * H)
    buckets_aggregate(now=T0 + 26 * H)
    assert ProblemSite.objects.count() == 10
    assert _breakdown(service, T0 + 26 * H) == {"app": (5, 100)}


def test_the_daily_purge_keeps_each_problems_latest_sites_within_the_day(
    service, make_service, problem_types
):
    other = make_service("other")
    k = listing_sites()
    rows = [ProblemSite(service=service, problem=problem_types["login"], site_key=f"s{n}",
                        last_seen=END - n * M) for n in range(k + 3)]  # fmt: skip
    rows += [ProblemSite(service=other, problem=problem_types["app"], site_key="old",
                         last_seen=END - PROBLEM_WINDOW - 2 * H)]  # fmt: skip
    rows += [ProblemSite(service=other, problem=problem_types["app"], site_key="new",
                         last_seen=END - H)]  # fmt: skip
    ProblemSite.objects.bulk_create(rows)

    purged = retention_purge(now=END)

    assert purged.problem_sites == 3 + 1
    kept = set(ProblemSite.objects.values_list("service_id", "site_key"))
    assert kept == {(service.pk, f"s{n}") for n in range(k)} | {(other.pk, "new")}


def test_the_retention_task_returns_every_count_of_the_purge(service, problem_types):
    """What the worker logs: it returned four of RetentionPurged's counts, none of the sites'."""
    k = listing_sites()
    ProblemSite.objects.bulk_create(
        ProblemSite(service=service, problem=problem_types["login"], site_key=f"s{n}",
                    last_seen=END - n * M) for n in range(k + 2)
    )  # fmt: skip

    result = tasks.retention_purge()  # at the pinned clock

    assert set(result) == {field.name for field in fields(RetentionPurged)}
    assert result["problem_sites"] == 2
