"""The service page's countries and problems of the last 24 hours read the whole hours from the
hourly rollups and only the rest from minute buckets, with the answer a sum over the minute
buckets gives: buckets written by the bucketing job itself, in several runs and with late
reports, on both its paths (the SQL one on PostgreSQL, the ORM one on SQLite)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from detection import selectors
from detection.models import Bucket, HourlyBucket
from detection.services import buckets_aggregate
from tests.detection.status_data import buckets_make, country_state_make, problem_sites_admit

pytestmark = pytest.mark.django_db

# The bucketing watermark ends up here; the window's start falls mid-hour.
NOW = dt.datetime(2026, 11, 25, 12, 20, tzinfo=dt.UTC)
M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The clock pinned just after NOW: whatever reads it, not only what takes `now`, sees the
    day these tests build, whenever they run."""
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW + dt.timedelta(seconds=30))


def direct_countries(service, since: dt.datetime, end: dt.datetime) -> list[tuple[str, int]]:
    """What the panel showed when it summed every minute bucket of the window [since, end)."""
    totals: Counter[str] = Counter()
    rows = Bucket.objects.filter(service=service, minute__gte=since, minute__lt=end)
    rows = rows.exclude(country="")
    for country, counted in rows.values_list("country", "counted"):
        totals[country] += counted
    return sorted(((c, n) for c, n in totals.items() if n > 0), key=lambda r: (-r[1], r[0]))


def direct_problems(service, since: dt.datetime, end: dt.datetime) -> list[tuple[str, int]]:
    totals: Counter[str] = Counter()
    rows = Bucket.objects.filter(service=service, country="", minute__gte=since, minute__lt=end)
    for problems in rows.values_list("problems", flat=True):
        totals.update(problems)
    return sorted(((p, n) for p, n in totals.items() if n > 0), key=lambda r: (-r[1], r[0]))


@pytest.fixture
def bucketed_day(service, send_reports):
    """A day and a bit of reports around NOW - 24 h, bucketed as the beat does: in runs as
    the day goes on, one of them with reports committed late into hours already rolled up."""
    since = NOW - 24 * H
    plan = [
        # Around the window's start, in its first hour: on its start's minute (inside: the
        # window is [start, end), selectors.minutes_between) and before it; and an hour
        # earlier.
        (since - 5 * M, 2, "DE", "login"),
        (since, 3, "FR", "app"),
        (since - 70 * M, 4, "US", "login"),
        # The window's leading partial hour.
        (since + M, 2, "DE", "website"),
        (since + 39 * M, 3, "JP", "app"),  # only here: a country no whole hour has
        # Whole hours, on and off their boundaries.
        (since + 40 * M, 4, "DE", "login"),
        (since + 3 * H, 5, "FR", "login"),
        (since + 7 * H + 13 * M, 3, "GB", "website"),
        (since + 12 * H, 2, "DE", "app"),
        # The watermark's hour (the current one).
        (NOW - 20 * M, 2, "GB", "login"),
        (NOW - M, 3, "US", "app"),
    ]
    previous = since - 2 * H
    for run in (since - H, since + 2 * H, since + 13 * H, NOW):
        for at, n, country, problem in plan:
            if previous <= at < run:
                send_reports(service, at, n, country=country, problem=problem)
        buckets_aggregate(now=run)
        previous = run
        if run == since + 13 * H:
            # Committed after their hours were rolled up: the next run counts them again.
            send_reports(service, since + 40 * M, 3, country="GB", problem="app")
            send_reports(service, since + 5 * H, 2, country="FR", problem="login", same=True)
    assert HourlyBucket.objects.filter(service=service).exists()
    country_state_make(service, "FR", 2)
    # Every problem from enough sites (test_problem_sites tests the bar): these compare the
    # counts.
    for slug in ("login", "app", "website", "payments"):
        problem_sites_admit(service, slug, NOW - M)
    return service


@pytest.mark.parametrize(
    "now",
    [
        NOW,  # the watermark's minute: a start at hh:20
        NOW + dt.timedelta(seconds=30),  # a clock between minutes
        NOW - 20 * M,  # a start on the hour: its own minute is inside the window
        NOW - 21 * M,  # at hh:59: the leading partial hour is one minute
        NOW - 5 * H - 7 * M,  # earlier: the window ends there, not at the watermark
    ],
)
def test_breakdowns_equal_the_sum_over_minute_buckets(bucketed_day, now):
    end = min(now.replace(second=0), NOW)  # the watermark is NOW
    since = end - 24 * H
    countries = selectors.country_breakdown(service=bucketed_day, now=now)
    problems = selectors.problem_breakdown(service=bucketed_day, now=now)

    assert [(r["country"], r["count"]) for r in countries] == direct_countries(
        bucketed_day, since, end
    )
    assert [(r["problem"], r["count"]) for r in problems] == direct_problems(
        bucketed_day, since, end
    )
    assert {r["country"]: r["level"] for r in countries}["FR"] == "problems"


def test_breakdowns_read_minute_buckets_only_at_the_window_edges(bucketed_day):
    """Minute buckets that no rollup sums (written past the watermark's back, here by hand)
    are seen in the leading partial hour and from the watermark's hour on, not in the whole
    hours between, which only the rollups answer for."""
    since = NOW - 24 * H
    leading, whole, current = since + 30 * M, since + 6 * H + 30 * M, NOW - 5 * M
    for at, n in ((leading, 1), (whole, 10), (current, 100)):
        buckets_make(bucketed_day, {at: n}, country="NZ", problems={"payments": 1.0})
        buckets_make(bucketed_day, {at: n}, problems={"payments": 1.0})

    countries = {
        r["country"]: r["count"] for r in selectors.country_breakdown(service=bucketed_day, now=NOW)
    }
    problems = {
        r["problem"]: r["count"] for r in selectors.problem_breakdown(service=bucketed_day, now=NOW)
    }
    assert countries["NZ"] == 101
    assert problems["payments"] == 101


def test_before_the_first_bucketing_run_every_minute_bucket_counts(service):
    """No watermark yet: nothing says a rollup sums its minutes, so all are read."""
    since = NOW - 24 * H
    buckets_make(service, {since + 3 * H: 4, since + 30 * M: 2}, country="DE")
    buckets_make(service, {since + 3 * H: 4, since + 30 * M: 2})
    problem_sites_admit(service, "login", since + 3 * H)
    rows = selectors.country_breakdown(service=service, now=NOW)
    assert [(r["country"], r["count"]) for r in rows] == [("DE", 6)]
    assert [r["count"] for r in selectors.problem_breakdown(service=service, now=NOW)] == [6]


def test_with_detection_behind_the_breakdowns_cover_the_counters_day(service):
    """With the detector stopped a day, "Reports in the last 24 hours 4848" stood above
    "No reports in the last 24 hours" in both breakdowns: they counted back from the wall
    clock, the counters from the minutes already counted (words tester F9)."""
    from detection.models import JobCursor

    watermark = NOW - dt.timedelta(hours=25)
    JobCursor.objects.update_or_create(name="buckets", defaults={"position": watermark})
    buckets_make(service, {watermark - dt.timedelta(minutes=5): 7})
    buckets_make(service, {watermark - dt.timedelta(minutes=5): 7}, country="DE")
    problem_sites_admit(service, "login", watermark - dt.timedelta(minutes=5))
    assert selectors.report_counts(service=service, now=NOW)["last_24h"] == 7
    assert [r["count"] for r in selectors.country_breakdown(service=service, now=NOW)] == [7]
    assert [r["count"] for r in selectors.problem_breakdown(service=service, now=NOW)] == [7]


def test_the_counter_and_the_breakdowns_count_the_same_day(service):
    """One window, [watermark - 24 h, watermark) (selectors.minutes_between): the 24-hour
    counter took the bucket at watermark - 24 h and the breakdowns did not, and they took a
    bucket at the watermark's own minute (not counted yet) that the counter did not."""
    from detection.models import JobCursor

    JobCursor.objects.update_or_create(name="buckets", defaults={"position": NOW})
    first, before, uncounted = NOW - 24 * H, NOW - 24 * H - M, NOW
    for at, n in ((first, 5), (before, 40), (uncounted, 300)):
        buckets_make(service, {at: n})
        buckets_make(service, {at: n}, country="DE")
    problem_sites_admit(service, "login", NOW - M)

    assert selectors.report_counts(service=service, now=NOW)["last_24h"] == 5
    assert [r["count"] for r in selectors.country_breakdown(service=service, now=NOW)] == [5]
    assert [r["count"] for r in selectors.problem_breakdown(service=service, now=NOW)] == [5]
