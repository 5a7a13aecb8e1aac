"""The read API says how current its statuses are. With beat stopped for ten minutes,
/api/v1/status/ answered `{"count": 0, "results": []}` ("no problems anywhere") and a service
its last "ok", with nothing to tell that no minute had been judged since (ops tester,
fifty-fourth session); only the pages carried a notice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from detection.models import JobCursor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)  # the pinned clock's minute
READS = ["/api/v1/status/", "/api/v1/services/acme/"]


def _judged(minutes_ago: int) -> None:
    JobCursor.objects.create(name=JobCursor.TICK, position=NOW - dt.timedelta(minutes=minutes_ago))


@pytest.mark.parametrize("url", READS)
def test_a_read_says_detection_is_not_current_while_it_is_stopped(
    api_client, service, settings, url
):
    settings.HEALTH_MAX_LAG_MINUTES = 3
    _judged(11)  # 11:49 judged at 12:00:30: the ten closed minutes after it are not
    body = api_client.get(url).json()
    assert body["detection"] == {
        "as_of": "2026-11-25T11:49:00Z",
        "behind_minutes": 10,
        "current": False,
    }


@pytest.mark.parametrize("url", READS)
def test_a_read_says_detection_is_current_while_it_keeps_up(api_client, service, url):
    _judged(1)
    body = api_client.get(url).json()
    assert body["detection"] == {
        "as_of": "2026-11-25T11:59:00Z",
        "behind_minutes": 0,
        "current": True,
    }


def test_before_the_first_minute_is_judged_nothing_is_current(api_client, service):
    body = api_client.get("/api/v1/status/").json()
    assert body == {
        "count": 0,
        "results": [],
        "detection": {"as_of": None, "behind_minutes": None, "current": False},
    }


@pytest.mark.parametrize("url", READS)
def test_an_answer_held_from_before_the_stop_is_not_confirmed_once_it_is_stale(
    api_client, service, monkeypatch, settings, url
):
    """The answer is cached until the next tick, which a stopped detector never brings: a
    dashboard revalidating its copy must get the new figures, not a 304."""
    settings.HEALTH_MAX_LAG_MINUTES = 3
    _judged(1)
    first = api_client.get(url)
    assert first.json()["detection"]["current"] is True
    assert api_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    later = NOW + dt.timedelta(minutes=10, seconds=30)
    monkeypatch.setattr(timezone, "now", lambda: later)
    again = api_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 200
    assert again.json()["detection"] == {
        "as_of": "2026-11-25T11:59:00Z",
        "behind_minutes": 10,
        "current": False,
    }


@pytest.mark.parametrize("url", READS)
def test_the_figures_of_a_cached_answer_cost_no_query(api_client, service, url):
    """The newest minute judged is read once per data version (only a tick moves it on): read
    on every request, it halved the cached reads' rate (bench/load)."""
    _judged(1)
    api_client.get(url)
    with CaptureQueriesContext(connection) as queries:
        body = api_client.get(url).json()
    assert body["detection"]["current"] is True
    assert [query["sql"] for query in queries.captured_queries] == []
