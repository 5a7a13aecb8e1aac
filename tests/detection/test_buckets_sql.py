"""PostgreSQL counts buckets and hourly rollups in one statement each; SQLite through the ORM.
Both give the same rows."""

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


def test_the_sql_path_counts_as_the_orm_path(make_service, send_reports):
    acme, other = make_service("acme"), make_service("other")
    # Around an hour boundary, several countries and problems, repeats from one network
    # (not counted) and uncounted floods.
    start = T0 - 3 * M
    for k in range(6):
        minute = start + k * M
        send_reports(acme, minute, 3 + k, country="DE")
        send_reports(acme, minute, 2, country="FR", problem="app")
        send_reports(acme, minute, 4, country="DE", problem="website", same=True)
        if k % 2:
            send_reports(other, minute, 5, country="US", problem="app")
    end = start + 6 * M

    written = buckets._aggregate_minutes_orm(start, end)
    hours = buckets._rollup_hours_orm(*buckets._hours(start, end))
    expected = snapshot()
    assert written and hours and any(p for *_, p in expected[0].values())
    Bucket.objects.all().delete()
    HourlyBucket.objects.all().delete()

    counted, changed = buckets._aggregate_minutes_sql(start, end)
    assert counted == written
    assert sorted(zip(*changed, strict=True)) == sorted({(s, c) for s, c, _ in expected[0]})
    assert buckets._rollup_hours_sql(start, end, changed) == hours
    assert snapshot() == expected

    # Counted again: the same rows, nothing rewritten, nothing to roll up.
    assert buckets._aggregate_minutes_sql(start, end) == (written, ([], []))
    assert snapshot() == expected

    # A late report changes one bucket: only its series is rolled up again.
    send_reports(other, start + M, 1, country="US", problem="login")
    counted, changed = buckets._aggregate_minutes_sql(start, end)
    assert sorted(zip(*changed, strict=True)) == [(other.pk, ""), (other.pk, "US")]
    assert buckets._rollup_hours_sql(start, end, changed) == 2
    fresh = snapshot()
    Bucket.objects.all().delete()
    HourlyBucket.objects.all().delete()
    buckets._aggregate_minutes_orm(start, end)
    buckets._rollup_hours_orm(*buckets._hours(start, end))
    assert snapshot() == fresh
