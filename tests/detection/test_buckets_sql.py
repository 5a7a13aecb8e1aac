"""PostgreSQL counts buckets and moves the hourly rollups in SQL; SQLite through the ORM. Both
give the same rows: after a first count, a count again, late reports into a rolled-up hour
and into a new one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from detection.models import Bucket, HourlyBucket
from detection.services import buckets
from tests.detection.conftest import T0

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's"),
]
M = dt.timedelta(minutes=1)


def snapshot() -> tuple[dict, dict]:
    minute = {
        (b.service_id, b.country, b.minute): (b.reports, b.counted, b.reporters, b.problems)
        for b in Bucket.objects.all()
    }
    hourly = {
        (h.service_id, h.country, h.hour): (h.reports, h.counted, h.reporters, h.problems)
        for h in HourlyBucket.objects.all()
    }
    return minute, hourly


def by_orm(start: dt.datetime, end: dt.datetime) -> tuple[dict, dict]:
    """What the ORM path makes of all reports so far, from nothing (then put back)."""
    kept = snapshot()
    Bucket.objects.all().delete()
    HourlyBucket.objects.all().delete()
    buckets._aggregate_minutes_orm(start, end)
    buckets._rollup_hours_orm(*buckets._hours(start, end))
    expected = snapshot()
    Bucket.objects.all().delete()
    HourlyBucket.objects.all().delete()
    Bucket.objects.bulk_create(Bucket(service_id=k[0], country=k[1], minute=k[2], reports=v[0],
                                      counted=v[1], reporters=v[2], problems=v[3])
                               for k, v in kept[0].items())  # fmt: skip
    HourlyBucket.objects.bulk_create(HourlyBucket(service_id=k[0], country=k[1], hour=k[2],
                                                  reports=v[0], counted=v[1], reporters=v[2],
                                                  problems=v[3])
                                     for k, v in kept[1].items())  # fmt: skip
    return expected


def by_sql(start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    counted, deltas = buckets._aggregate_minutes_sql(start, end)
    return counted, buckets._rollups_move(deltas)


def test_the_sql_path_counts_and_rolls_up_as_the_orm_path(make_service, send_reports):
    acme, other = make_service("acme"), make_service("other")
    # Around an hour boundary, several countries and problems, repeats from one network
    # (not counted).
    start = T0 - 3 * M
    for k in range(6):
        minute = start + k * M
        send_reports(acme, minute, 3 + k, country="DE")
        send_reports(acme, minute, 2, country="FR", problem="app")
        send_reports(acme, minute, 4, country="DE", problem="website", same=True)
        if k % 2:
            send_reports(other, minute, 5, country="US", problem="app")
    end = start + 6 * M

    counted, hours = by_sql(start, end)
    assert counted == len(snapshot()[0]) and hours == len(snapshot()[1])
    assert snapshot() == by_orm(start, end)
    assert any(p for *_, p in snapshot()[0].values())

    # Counted again: nothing rewritten, nothing to move.
    assert buckets._aggregate_minutes_sql(start, end) == (counted, [])

    # Late reports: into minutes of both rolled-up hours (the rollups move by the
    # difference), a new problem there, and a series' first bucket of an hour (recounted).
    send_reports(other, start + M, 1, country="US", problem="login")
    send_reports(acme, start + 4 * M, 2, country="FR", problem="payments")
    send_reports(acme, start + 5 * M, 1, country="IT")
    _, deltas = buckets._aggregate_minutes_sql(start, end)
    assert {(d[0], d[1]) for d in deltas} == {
        (other.pk, ""),
        (other.pk, "US"),
        (acme.pk, ""),
        (acme.pk, "FR"),
        (acme.pk, "IT"),
    }
    assert buckets._rollups_move(deltas) == len(deltas)
    assert snapshot() == by_orm(start, end)


def test_a_rollup_out_of_step_with_its_minutes_is_recounted(service, send_reports):
    """Buckets changed behind the aggregation's back: a rollup that would go below zero is
    summed from its minutes again instead of failing the run."""
    start, end = T0, T0 + 2 * M
    send_reports(service, T0, 3, country="DE")
    by_sql(start, end)
    Bucket.objects.filter(service=service, minute=T0).update(counted=50, reports=50)
    send_reports(service, T0 + M, 1, country="DE")
    by_sql(start, end)  # recounts T0 (50 -> 3): the rollup would move below zero
    assert snapshot() == by_orm(start, end)
