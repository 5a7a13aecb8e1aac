"""A page left open learns that detection has stopped. Its live.json answer is cached per
data version, which only a tick moves on: with beat stopped, an open service page kept "No
problems" and its last counts for as long as it was open, and only a reload showed the
notice (ops tester, fifty-fourth session). The outage page had no notice at all."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from detection.cache import data_version_bump
from detection.models import JobCursor
from tests.detection.status_data import outage_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)  # the pinned clock's minute


def _judged(minutes_ago: int) -> None:
    JobCursor.objects.create(name=JobCursor.TICK, position=NOW - dt.timedelta(minutes=minutes_ago))


@pytest.fixture
def pages(service) -> list[tuple[str, str]]:
    outage = outage_make(service)
    return [
        ("/", "/live.json"),
        (f"/services/{service.slug}/", f"/services/{service.slug}/live.json"),
        (f"/outages/{outage.pk}/", f"/outages/{outage.pk}/live.json"),
    ]


def test_an_open_page_is_told_once_detection_falls_behind(client, pages, monkeypatch, settings):
    settings.HEALTH_MAX_LAG_MINUTES = 3
    _judged(1)
    held = {}
    for _, live in pages:
        first = client.get(live)
        assert "data-pipeline-notice" not in first.json()["regions"]["pipeline"], live
        held[live] = first["ETag"]

    later = NOW + dt.timedelta(minutes=10, seconds=30)  # no minute judged since
    monkeypatch.setattr(timezone, "now", lambda: later)
    for _, live in pages:
        again = client.get(live, HTTP_IF_NONE_MATCH=held[live])
        assert again.status_code == 200, live
        notice = again.json()["regions"]["pipeline"]
        assert "Detection is 10 minutes behind: the statuses here are as of" in notice, live


def test_every_live_page_says_when_detection_is_behind(client, pages, settings):
    settings.HEALTH_MAX_LAG_MINUTES = 3
    _judged(12)
    for page, _ in pages:
        body = client.get(page).content.decode()
        assert "Detection is 11 minutes behind" in body, page


def test_a_pages_first_poll_changes_nothing(client, pages, settings):
    """The page carries the answer's ETag, notice included, whether or not one is shown."""
    settings.HEALTH_MAX_LAG_MINUTES = 3
    for minutes_ago in (1, 12):
        JobCursor.objects.all().delete()
        _judged(minutes_ago)
        data_version_bump()  # as the tick that moves the cursor does
        for page, live in pages:
            tag = re.search(r'data-live-etag="([^"]*)"', client.get(page).content.decode())
            assert tag is not None, page
            assert client.get(live)["ETag"] == f'"{tag.group(1)}"', (page, minutes_ago)


def test_a_poll_of_a_cached_answer_does_not_read_the_job_cursors(client, pages):
    """The newest minute judged is read once per data version, as the answer is."""
    _judged(1)
    for _, live in pages:
        client.get(live)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(live).status_code == 200
        read = [query["sql"] for query in queries.captured_queries]
        assert not [sql for sql in read if "detection_jobcursor" in sql], live
