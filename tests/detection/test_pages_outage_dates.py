"""Outage pages, lists and feeds name the year of a date from another year (the clock pinned
by ``midday``: 25 Nov 2026); a service's whole outage history is one link away."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from tests.detection.status_data import baseline_store, flat_baseline, outage_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]
ATOM = "{http://www.w3.org/2005/Atom}"
LAST_OCTOBER = datetime(2025, 10, 29, 18, 47, tzinfo=UTC)
THIS_OCTOBER = datetime(2026, 10, 29, 18, 47, tzinfo=UTC)


@pytest.fixture
def two_octobers(service):
    baseline_store(service, flat_baseline())  # a service with history: its normal is known
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


# --- A service's whole outage history (F10) --------------------------------------------------


@pytest.fixture
def long_history(service, make_service):
    """Acme with 60 resolved outages, one a day; another service with one."""
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    for day in range(60):
        at = start - timedelta(days=day)
        outage_make(service, started_at=at, resolved_at=at + timedelta(minutes=30), events=False)
    other = make_service("beta", "Beta Mail")
    outage_make(other, started_at=start, resolved_at=start + timedelta(minutes=30))
    return service


def test_service_history_links_to_all_its_outages(client, long_history):
    html = client.get("/services/acme/").content.decode()
    assert '<a href="/outages/?service=acme">See all 60 outages of Acme Cloud</a>' in html


def test_service_history_without_more_outages_has_no_see_all_link(client, two_octobers):
    assert "See all" not in client.get("/services/acme/").content.decode()


def test_outage_list_filtered_by_service_is_paginated(client, long_history):
    response = client.get("/outages/?service=acme")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Outages of Acme Cloud</h1>" in html
    assert "Beta Mail" not in html
    assert html.count('<td data-label="Started">') == 50
    assert "Page 1 of 2" in html and 'href="?service=acme&amp;page=2"' in html
    second = client.get("/outages/?service=acme&page=2").content.decode()
    assert second.count('<td data-label="Started">') == 10 and "Beta Mail" not in second


def test_outage_list_of_an_unknown_service_is_a_readable_404(client, long_history):
    response = client.get("/outages/?service=narnia")
    assert response.status_code == 404
    assert "We know no service called “narnia”" in response.content.decode()


def test_outage_list_under_a_former_slug_moves_to_the_current_one(client, long_history):
    from reports.cache import catalog_forget
    from reports.models import FormerSlug

    FormerSlug.objects.create(service=long_history, slug="acme-old")
    catalog_forget()
    response = client.get("/outages/?service=acme-old&page=2")
    assert response.status_code == 301
    assert response["Location"] == "/outages/?service=acme&page=2"
    assert client.get("/outages/?service=ACME")["Location"] == "/outages/?service=acme"


# --- The outage explanation in plain words (F8, F22) ------------------------------------------


def test_outage_lists_give_the_peak_beside_its_normal(client, two_octobers):
    html = client.get("/outages/").content.decode()
    assert '48 a minute <span class="muted">(normally about 2)</span>' in html


def test_outage_header_says_when_it_ended_without_stacked_brackets(client, two_octobers):
    old, _ = two_octobers
    html = client.get(f"/outages/{old.pk}/").content.decode()
    when = re.search(r'<p class="outage-when".*?</p>', html, re.S).group(0)
    assert re.search(r"Started <time[^>]*>29 Oct 2025, 18:47 UTC</time>, ended <time", when)
    assert "</time>, after 1 h 59 min." in when


def test_cold_start_outage_page_claims_no_normal(client, make_service):
    zoom = make_service("zoom", "Zoom")
    outage = outage_make(zoom, started_at=LAST_OCTOBER, peak_observed=40, peak_expected=3.2)
    html = client.get(f"/outages/{outage.pk}/").content.decode()
    explanation = html[
        html.index('id="explanation"') : html.index("</section>", html.index('id="explanation"'))
    ]
    assert "Zoom has almost no reports normally" in explanation
    assert "about 3 are normal" not in explanation and "own history" not in explanation
    assert "almost none (no history yet)" in explanation


def test_how_we_decided_keeps_rule_names_to_the_technical_line(client, service):
    from detection.models import OutageEvent

    outage = outage_make(service, started_at=LAST_OCTOBER, rule="nb_1m")
    OutageEvent.objects.create(
        outage=outage,
        at=outage.detected_at,
        kind=OutageEvent.Kind.COUNTRY,
        country="FR",
        message="22 reports in the last minute vs 0.1 expected (p = 2.4e-46, rule poisson_1m).",
    )
    html = client.get(f"/outages/{outage.pk}/").content.decode()
    details = re.search(r'<details class="how-decided">.*?</details>', html, re.S).group(0)
    items = re.findall(r"<li>(.*?)</li>", details, re.S)
    assert items[-1].startswith("Technical details: rule nb_1m (negative binomial")
    for item in items[:-1]:
        assert "negative binomial" not in item and "rule " not in item and " :" not in item
    assert any("</time>: France: 22 reports" in item for item in items)
