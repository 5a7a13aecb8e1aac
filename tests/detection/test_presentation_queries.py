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
