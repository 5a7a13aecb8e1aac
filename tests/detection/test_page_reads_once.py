"""One cold read of a service page (or its API answer, or an outage page) reads the buckets'
watermark, the baseline's method and the baseline once each (detection.reads): its parts
asked again, five, four and three times a page (query audit)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection.cache import data_version_bump
from detection.models import JobCursor
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    flat_baseline,
    minute_now,
    outage_make,
    status_make,
)

pytestmark = pytest.mark.django_db

# The buckets' row alone: the tick's (the freshness figures' minute judged) is another read.
BUCKETS_CURSOR = """FROM "detection_jobcursor" WHERE "detection_jobcursor"."name" = 'buckets'"""
BASELINE = 'FROM "detection_seriesbaseline"'
# The columns read when only the method is wanted (Reads.cold), not the record.
METHOD_ONLY = 'SELECT "detection_seriesbaseline"."service_id" AS "service_id", '


def _reads(client, path: str) -> Counter[str]:
    client.get(path)  # the catalog loaded once per process
    data_version_bump()  # no cached answer
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    found: Counter[str] = Counter()
    for query in queries:
        sql = query["sql"]
        if BUCKETS_CURSOR in sql:
            found["watermark"] += 1
        elif BASELINE in sql:
            found["method" if sql.startswith(METHOD_ONLY) else "baseline"] += 1
    return found


def _once(found: Counter[str]) -> None:
    # The method is read only when no part read the whole baseline before (Reads.cold).
    assert found["watermark"] == 1 and found["baseline"] == 1 and found["method"] <= 1, found


@pytest.fixture
def open_outage(service, midday):
    now = minute_now()
    JobCursor.objects.update_or_create(name=JobCursor.BUCKETS, defaults={"position": now})
    buckets_make(service, {now - timedelta(minutes=m): 30 for m in range(1, 40)})
    baseline_store(service, flat_baseline(2.0))
    outage = outage_make(service, started_at=now - timedelta(minutes=30))
    status_make(service, 2, outage=outage)
    return outage


@pytest.mark.parametrize("path", ["/services/acme/", "/api/v1/services/acme/"])
def test_a_service_read_reads_each_shared_row_once(client, open_outage, path):
    _once(_reads(client, path))


def test_a_quiet_service_page_reads_each_shared_row_once(client, service, midday):
    # No outage: the problems card reads the day's breakdown (the watermark again, twice).
    JobCursor.objects.update_or_create(name=JobCursor.BUCKETS, defaults={"position": minute_now()})
    baseline_store(service, flat_baseline(2.0))
    _once(_reads(client, "/services/acme/"))


def test_an_outage_page_reads_each_shared_row_once(client, open_outage):
    _once(_reads(client, f"/outages/{open_outage.pk}/"))


@pytest.mark.parametrize("page", ["service", "outage"])
def test_a_page_without_the_cache_computes_its_live_read_once(
    client, open_outage, monkeypatch, page
):
    # Redis away: reads are computed, not fetched, and the page's own read and its live
    # answer's ETag each computed one (on-call audit, fifty-fourth session).
    from detection import cache, live

    monkeypatch.setattr(cache, "data_version", lambda: 0)
    name = "_service_live" if page == "service" else "_outage_live"
    real = getattr(live, name)
    calls = []
    monkeypatch.setattr(live, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    path = "/services/acme/" if page == "service" else f"/outages/{open_outage.pk}/"
    assert client.get(path).status_code == 200
    assert len(calls) == 1
