"""Bucketing on the real database: counts, idempotency, catch-up, late reports, rollups."""

from __future__ import annotations

import datetime as dt

import pytest

from detection.models import Bucket, HourlyBucket, JobCursor
from detection.services import buckets_aggregate
from reports.models import Report
from reports.services import report_create
from tests.detection.conftest import T0

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)


def _rows():
    return sorted(
        Bucket.objects.values_list(
            "service__slug", "country", "minute", "reports", "counted", "reporters"
        )
    )


def test_counts_per_country_and_overall(service, send_reports, problem_types):
    send_reports(service, T0, 3, country="DE")
    send_reports(service, T0, 2, country="FR", problem="app")
    send_reports(service, T0, 4, country="FR", same=True)  # one person: 4 reports, 1 counted
    buckets_aggregate(now=T0 + 2 * M)
    by_country = {b.country: b for b in Bucket.objects.filter(minute=T0)}
    assert (by_country["DE"].reports, by_country["DE"].counted, by_country["DE"].reporters) == (
        3,
        3,
        3,
    )
    assert (by_country["FR"].reports, by_country["FR"].counted, by_country["FR"].reporters) == (
        6,
        3,
        3,
    )
    overall = by_country[""]
    assert (overall.reports, overall.counted, overall.reporters) == (9, 6, 6)
    assert overall.problems == {"login": 4, "app": 2}


def test_rerunning_gives_the_same_rows(service, send_reports):
    send_reports(service, T0, 5)
    buckets_aggregate(now=T0 + 2 * M)
    first = _rows()
    JobCursor.objects.all().delete()  # forget the watermark: everything is recounted
    buckets_aggregate(now=T0 + 2 * M)
    buckets_aggregate(now=T0 + 2 * M)
    assert _rows() == first
    assert Bucket.objects.get(minute=T0, country="").counted == 5


def test_current_minute_is_not_aggregated_until_closed(service, send_reports):
    send_reports(service, T0, 2)
    buckets_aggregate(now=T0 + dt.timedelta(seconds=30))
    assert not Bucket.objects.exists()
    buckets_aggregate(now=T0 + M)
    assert Bucket.objects.get(minute=T0, country="").counted == 2


def test_catch_up_after_downtime_without_double_counting(service, send_reports):
    send_reports(service, T0 - 10 * M, 1)
    buckets_aggregate(now=T0 - 5 * M)
    for hour in range(8):  # eight hours of reports while the workers were down
        send_reports(service, T0 + dt.timedelta(hours=hour), 2)
    result = buckets_aggregate(now=T0 + dt.timedelta(hours=9))
    assert result.start == T0 - 5 * M - dt.timedelta(minutes=5)  # watermark minus late window
    assert JobCursor.objects.get(name="buckets").position == T0 + dt.timedelta(hours=9)
    overall = Bucket.objects.filter(country="")
    assert sum(overall.values_list("counted", flat=True)) == 17
    assert overall.count() == 9


def test_a_run_whose_clock_was_ahead_does_not_blind_the_next_ones(service, send_reports, caplog):
    # One run an hour ahead left the watermark in the future: until the clock caught up,
    # nothing was counted, and those minutes' reports never reached a bucket.
    send_reports(service, T0, 2)
    buckets_aggregate(now=T0 + dt.timedelta(hours=1))
    for k in range(1, 10):  # the clock is right again
        send_reports(service, T0 + k * M, 3)
        buckets_aggregate(now=T0 + (k + 1) * M)
    overall = dict(Bucket.objects.filter(country="").values_list("minute", "counted"))
    assert [overall.get(T0 + k * M) for k in range(10)] == [2] + [3] * 9
    assert JobCursor.objects.get(name="buckets").position == T0 + 10 * M
    assert "ahead of the clock" in caplog.text


def test_a_backfill_of_the_past_beside_live_counting_is_no_clock_jump(
    service, send_reports, caplog
):
    # `simulate history` on a running stack counts two weeks ago an hour at a time; each run
    # logged an ERROR about a clock that jumped and moved the live watermark back.
    send_reports(service, T0, 2)
    buckets_aggregate(now=T0 + M)
    past = T0 - dt.timedelta(days=14)
    send_reports(service, past, 4)
    buckets_aggregate(now=past + dt.timedelta(hours=1), since=past)
    assert Bucket.objects.get(minute=past, country="").counted == 4
    assert JobCursor.objects.get(name="buckets").position == T0 + M
    assert "ahead of the clock" not in caplog.text


def test_late_report_is_picked_up_by_the_next_run(service, send_reports, problem_types):
    send_reports(service, T0, 2)
    buckets_aggregate(now=T0 + M)
    # Committed after its minute was aggregated (a slow transaction).
    report_create(
        service=service, problem=problem_types["login"], country="DE", source=Report.Source.API,
        address="192.0.2.1", now=T0 + dt.timedelta(seconds=59),
    )  # fmt: skip
    buckets_aggregate(now=T0 + 2 * M)
    assert Bucket.objects.get(minute=T0, country="").counted == 3


def test_a_report_committed_after_the_late_window_still_reaches_its_bucket(
    service, send_reports, problem_types, caplog
):
    # Stamped 20 minutes before it committed (a web host's clock behind, a long lock wait):
    # past the late window every run counts again, it reached no bucket, chart or count.
    send_reports(service, T0, 2)
    buckets_aggregate(now=T0 + M)
    buckets_aggregate(now=T0 + 21 * M)
    report_create(
        service=service, problem=problem_types["login"], country="DE", source=Report.Source.API,
        address="192.0.2.1", now=T0 + dt.timedelta(seconds=30),
    )  # fmt: skip
    with caplog.at_level("WARNING"):
        buckets_aggregate(now=T0 + 22 * M)
    assert Bucket.objects.get(minute=T0, country="").counted == 3
    assert Bucket.objects.get(minute=T0, country="DE").counted == 3
    assert "1 reports were committed after their minutes were counted" in caplog.text
    # Once counted, the next runs find nothing late.
    caplog.clear()
    with caplog.at_level("WARNING"):
        buckets_aggregate(now=T0 + 23 * M)
    assert "committed after" not in caplog.text


def test_hourly_rollups_sum_the_minutes(service, send_reports):
    send_reports(service, T0, 2, country="DE")
    send_reports(service, T0 + 30 * M, 3, country="DE", problem="app")
    send_reports(service, T0 + 61 * M, 1, country="FR")
    buckets_aggregate(now=T0 + 90 * M)
    hours = {(h.country, h.hour): h for h in HourlyBucket.objects.all()}
    assert hours[("", T0)].counted == 5
    assert hours[("", T0)].problems == {"login": 2, "app": 3}
    assert hours[("DE", T0)].counted == 5
    assert hours[("", T0 + dt.timedelta(hours=1))].counted == 1


def test_the_late_window_is_recounted_from_its_first_minute_with_new_reports(
    service, send_reports, problem_types, monkeypatch
):
    """Minutes of the late window with nothing new are not counted again; the buckets are
    what counting everything again gives."""
    from detection.services import buckets

    spans = []
    for name in ("_aggregate_minutes_sql", "_aggregate_minutes_orm"):
        real = getattr(buckets, name)

        def spy(start, end, real=real):
            spans.append((start, end))
            return real(start, end)

        monkeypatch.setattr(buckets, name, spy)
    for k in range(3):
        send_reports(service, T0 + k * M, 2)
    buckets_aggregate(now=T0 + 3 * M)
    send_reports(service, T0 + M, 1, country="FR")  # committed late
    send_reports(service, T0 + 3 * M, 2)
    buckets_aggregate(now=T0 + 4 * M)
    buckets_aggregate(now=T0 + 5 * M)  # nothing new at all
    assert spans[1:] == [(T0 + M, T0 + 4 * M), (T0 + 4 * M, T0 + 5 * M)]  # only new minutes
    assert Bucket.objects.get(minute=T0 + M, country="").reports == 3
    counted = _rows()
    buckets_aggregate(now=T0 + 5 * M, since=T0 - 10 * M)  # everything counted again
    assert _rows() == counted


def test_the_networks_of_one_ipv6_48_are_one_reporter(service, problem_types):
    """One machine holding a tunnel broker's /48 sent from 25 of its /56s a minute, each
    uncounted, and the status read "25 networks reported in the last minute" (abuse tester
    F2): the dedup window's site is the reporter the buckets count."""
    # 25 /56s of one /48, then two other homes: an IPv4 /24 and a /48 of their own.
    addresses = [f"2001:db8:5500:{net:02x}00::1" for net in range(25)]
    for k, address in enumerate([*addresses, "198.51.100.7", "2001:db8:77::1"]):
        report_create(
            service=service,
            problem=problem_types["login"],
            country="DE",
            source=Report.Source.API,
            address=address,
            now=T0 + dt.timedelta(seconds=k),
        )
    buckets_aggregate(now=T0 + 2 * M)
    overall = Bucket.objects.get(minute=T0, country="")
    assert (overall.reports, overall.counted, overall.reporters) == (27, 3, 3)


def test_a_report_stored_before_its_site_was_kept_counts_by_its_network(service, send_reports):
    send_reports(service, T0, 3)
    Report.objects.update(site_key="")
    buckets_aggregate(now=T0 + 2 * M)
    assert Bucket.objects.get(minute=T0, country="").reporters == 3
