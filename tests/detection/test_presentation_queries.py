"""The words cost no query per outage: problem names come from the catalog held in process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection.cache import data_version_bump
from tests.detection.status_data import minute_now, outage_make

pytestmark = pytest.mark.django_db


def _outages(service, first: int, last: int) -> None:
    for i in range(first, last):
        start = minute_now() - timedelta(hours=2 * i + 2)
        outage_make(service, started_at=start, resolved_at=start + timedelta(hours=1))


def _queries(client, path: str) -> int:
    data_version_bump()  # no cached answer
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", ["/api/v1/outages/", "/outages/feed/"])
def test_outage_list_and_feed_cost_a_fixed_number_of_queries(api_client, service, path):
    _outages(service, 0, 2)
    _queries(api_client, path)  # the catalog loaded once per process
    few = _queries(api_client, path)
    _outages(service, 2, 12)
    assert _queries(api_client, path) == few


def test_the_status_list_reads_no_service_per_outage(api_client, make_service):
    # An upstream outage puts many services in problems at once: each row's active outage
    # named its service with a query of its own.
    from tests.detection.status_data import status_make

    def down(slug: str) -> None:
        service = make_service(slug)
        status_make(service, 1, outage=outage_make(service, events=False))

    down("a0")
    few = _queries(api_client, "/api/v1/status/")
    for i in range(1, 6):
        down(f"a{i}")
    assert _queries(api_client, "/api/v1/status/") == few


def test_the_status_list_judges_falling_in_a_fixed_number_of_queries(api_client, make_service):
    # An upstream outage puts dozens of services in problems at once: each one's falling
    # verdict read its buckets and its baseline with queries of its own.
    from tests.detection.status_data import baseline_store, buckets_make, flat_baseline, status_make

    now = minute_now()

    def down(slug: str) -> None:
        service = make_service(slug)
        buckets_make(service, {now - timedelta(minutes=m): 30 for m in range(1, 40)})
        baseline_store(service, flat_baseline(2.0))
        outage = outage_make(service, started_at=now - timedelta(minutes=30), events=False)
        status_make(service, 2, outage=outage)

    down("b0")
    few = _queries(api_client, "/api/v1/status/")
    for i in range(1, 6):
        down(f"b{i}")
    assert _queries(api_client, "/api/v1/status/") == few
    body = api_client.get("/api/v1/status/").json()["results"]
    assert len(body) == 6 and {s["reports_falling"] for s in body} == {False}


def test_the_status_list_reads_upstream_groups_in_a_fixed_number_of_queries(
    api_client, make_service
):
    # A provider's outage puts dozens of services in problems in one group at once: each row's
    # active outage read its group and the group's members with two queries of its own.
    from detection.models import UpstreamOutage
    from reports.models import Provider
    from tests.detection.status_data import status_make

    now = minute_now()
    groups = [
        UpstreamOutage.objects.create(
            provider=Provider.objects.create(slug=slug, name=slug.title(), kind="cdn"),
            started_at=now - timedelta(minutes=40),
            detected_at=now - timedelta(minutes=35),
            chance=0.001,
        )
        for slug in ("edgecdn", "cloudy")
    ]

    def down(i: int) -> None:
        service = make_service(f"c{i}")
        outage = outage_make(service, events=False, upstream=groups[i % 2])
        status_make(service, 2, outage=outage)

    down(0)
    few = _queries(api_client, "/api/v1/status/")
    for i in range(1, 8):
        down(i)
    assert _queries(api_client, "/api/v1/status/") == few
    body = api_client.get("/api/v1/status/").json()["results"]
    groups_named = {s["service"]: s["active_outage"]["upstream"] for s in body}
    assert len(groups_named) == 8
    assert {len(g["services"]) for g in groups_named.values()} == {4}
    assert groups_named["c1"]["provider"] == "cloudy"
    assert groups_named["c2"]["provider"] == "edgecdn"


def test_the_status_reads_its_newest_minutes_unheard_in_one_query(api_client, make_service, midday):
    # Whether one of an open outage's newest five minutes went unheard (reports.intake) was
    # asked one minute at a time: five queries on every cold read of the status, and one more
    # for each minute in which report submissions failed.
    from reports.intake import submission_failed
    from tests.detection.status_data import baseline_store, buckets_make, flat_baseline, status_make

    now = minute_now()
    service = make_service("d0")
    buckets_make(service, {now - timedelta(minutes=m): 30 for m in range(1, 40)})
    baseline_store(service, flat_baseline(2.0))
    outage = outage_make(service, started_at=now - timedelta(minutes=30), events=False)
    status_make(service, 2, outage=outage)

    def read() -> list[str]:
        data_version_bump()
        with CaptureQueriesContext(connection) as queries:
            assert api_client.get("/api/v1/status/").status_code == 200
        return [q["sql"].lower() for q in queries]

    read()  # the catalog loaded once per process
    heard = read()
    assert sum("uncheckedminute" in sql for sql in heard) == 1
    # Fewer failed than stored (30 each): still heard, their stored reports counted at once.
    for minutes_ago in (2, 4):
        submission_failed(now=now - timedelta(minutes=minutes_ago, seconds=-10))
    failed = read()
    assert len(failed) == len(heard) + 1
    assert api_client.get("/api/v1/status/").json()["results"][0]["reports_falling"] is False
