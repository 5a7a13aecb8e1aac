"""Outage pages, lists and feeds name the year of a date from another year (the clock pinned
by ``midday``: 25 Nov 2026)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from tests.detection.status_data import outage_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]
ATOM = "{http://www.w3.org/2005/Atom}"
LAST_OCTOBER = datetime(2025, 10, 29, 18, 47, tzinfo=UTC)
THIS_OCTOBER = datetime(2026, 10, 29, 18, 47, tzinfo=UTC)


@pytest.fixture
def two_octobers(service):
    end = timedelta(minutes=119)
    old = outage_make(service, started_at=LAST_OCTOBER, resolved_at=LAST_OCTOBER + end)
    new = outage_make(service, started_at=THIS_OCTOBER, resolved_at=THIS_OCTOBER + end)
    return old, new


def test_outage_list_tells_last_years_outage_from_this_years(client, two_octobers):
    html = client.get("/outages/").content.decode()
    assert ">29 Oct 2025, 18:47 UTC</time>" in html
    assert ">29 Oct 18:47 UTC</time>" in html


def test_outage_page_of_last_year_names_the_year(client, two_octobers):
    old, _ = two_octobers
    html = client.get(f"/outages/{old.pk}/").content.decode()
    assert ">29 Oct 2025, 18:47 UTC</time>" in html
    assert ">29 Oct 2025, 20:46 UTC</time>" in html


def test_service_history_names_the_year(client, two_octobers):
    html = client.get("/services/acme/").content.decode()
    assert ">29 Oct 2025, 18:47 UTC</time>" in html


def test_feed_titles_name_the_year(client, two_octobers):
    feed = ElementTree.fromstring(client.get("/services/acme/outages/feed/").content)
    titles = [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")]
    assert "Acme Cloud: problems from 29 Oct 2025, 18:47 to 20:46 UTC (over)" in titles
    assert "Acme Cloud: problems from 29 Oct 18:47 to 20:46 UTC (over)" in titles
