"""Status pages: home (problems first, badges, sparklines), service page (sentence, chart,
problems, countries, history), outage pages and Atom feeds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from xml.etree import ElementTree

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.http import http_date

from detection.models import Outage
from reports.models import ProblemType, Service
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    country_state_make,
    fitted_baseline,
    flat_baseline,
    minute_now,
    outage_make,
    status_make,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("midday")]
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def acme_down(service):
    """Acme with an outage since 40 minutes ago, reports from DE and FR, a baseline."""
    now = minute_now()
    started = now - timedelta(minutes=40)
    quiet = {now - timedelta(hours=h): 2 for h in range(2, 20)}
    loud = {now - timedelta(minutes=m): 30 for m in range(1, 40)}
    buckets_make(service, quiet | loud, problems={"login": 0.7, "app": 0.3})
    buckets_make(service, {now - timedelta(minutes=m): 20 for m in range(1, 10)}, country="DE")
    buckets_make(service, {now - timedelta(minutes=3): 4}, country="FR")
    country_state_make(service, "DE", 2)
    baseline_store(service, fitted_baseline())
    outage = outage_make(service, started_at=started, countries=("DE", "FR"))
    status_make(service, 2, outage=outage, countries=("DE",), since=started)
    return outage


def test_service_page_says_what_is_going_on(client, acme_down):
    html = client.get("/services/acme/").content.decode()
    started = acme_down.started_at
    assert f"User reports indicate problems at Acme Cloud since {started:%H:%M} UTC." in html
    assert 'class="badge badge-problems" data-status-badge>Problems detected<' in html
    assert 'data-live-url="/services/acme/live.json"' in html
    assert f'href="/outages/{acme_down.pk}/"' in html


def test_service_page_draws_reports_against_the_expected_band(client, acme_down):
    html = client.get("/services/acme/").content.decode()
    svg = re.search(
        r'<svg class="chart chart-wide" data-chart="series".*?</svg>', html, re.S
    ).group(0)
    assert 'class="chart-band"' in svg
    assert 'class="chart-expected"' in svg
    assert 'class="chart-observed"' in svg
    assert 'class="chart-outage"' in svg
    observed = re.search(r'class="chart-observed" points="([^"]+)"', svg).group(1)
    assert len(observed.split()) == 96  # 24 hours of 15-minute buckets


def test_service_page_shows_top_problems_countries_and_history(client, acme_down, service):
    old = outage_make(
        service,
        started_at=minute_now() - timedelta(days=5),
        resolved_at=minute_now() - timedelta(days=5, hours=-2),
        events=False,
    )
    html = client.get("/services/acme/").content.decode()
    problems = html[html.index('id="problems"') : html.index('id="countries"')]
    assert problems.index("Login") < problems.index("App")
    # During the outage, its own problems (login 120 of 150), not the last 24 hours'.
    assert '80% <span class="muted">(120)</span>' in problems
    countries = html[html.index('id="countries"') : html.index('id="outages"')]
    assert countries.index("Germany") < countries.index("France")
    assert "badge-problems" in countries
    history = html[html.index('id="outages"') :]
    assert f'href="/outages/{old.pk}/"' in history and "Over after 2 h" in history
    assert 'href="/services/acme/outages/feed/"' in history


def test_quiet_service_page_says_no_problems(client, service):
    html = client.get("/services/acme/").content.decode()
    assert "No current problems at Acme Cloud." in html
    assert "badge-ok" in html
    assert "No outages of Acme Cloud detected so far." in html
    assert "Not enough history yet" in html
    # The report form is still there and unchanged.
    assert 'name="problem" value="login"' in html and "csrfmiddlewaretoken" in html


def test_service_page_includes_the_subscribe_form(client, service):
    response = client.get("/services/acme/")
    assert response.context["subscribe_template"] == "alerts/_subscribe_form.html"
    assert 'action="/services/acme/subscribe/"' in response.content.decode()


def test_service_page_without_the_alerts_app_has_no_subscribe_form(client, service, monkeypatch):
    # reports/ does not need alerts/: without its template the page renders without the form.
    from django.template import TemplateDoesNotExist

    import reports.views

    def missing(names):
        raise TemplateDoesNotExist(names[0])

    monkeypatch.setattr(reports.views, "select_template", missing)
    response = client.get("/services/acme/")
    assert response.status_code == 200
    assert response.context["subscribe_template"] is None
    assert "subscribe-form" not in response.content.decode()


def test_home_puts_services_with_problems_first(client, acme_down, make_service):
    shaky = make_service("shaky", "Shaky Mail")
    status_make(shaky, 1, score=0.7)
    html = client.get("/").content.decode()
    board = html[html.index('id="problems-now"') : html.index('class="category"')]
    assert board.index("Acme Cloud") < board.index("Shaky Mail")
    assert "badge-problems" in board and "badge-possible" in board
    assert '<svg class="sparkline sparkline-problems"' in board
    # Services without problems are not on the board.
    assert "ChatGPT" not in board


def test_home_says_all_clear_without_problems(client):
    html = client.get("/").content.decode()
    assert "No service has unusual numbers of reports right now." in html


def test_home_sparklines_cost_a_fixed_number_of_queries(client, make_service):
    now = minute_now()
    for i in range(3):
        buckets_make(make_service(f"svc{i}"), {now - timedelta(hours=h): h for h in range(24)})
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for i in range(3, 9):
        buckets_make(make_service(f"svc{i}"), {now - timedelta(hours=h): h for h in range(24)})
    from django.core.cache import cache

    from detection.cache import data_version_forget

    cache.clear()
    data_version_forget()  # and what this process keeps by the version (the minute judged)
    with CaptureQueriesContext(connection) as many:
        html = client.get("/").content.decode()
    assert len(many) == len(few)
    assert html.count('<svg class="sparkline') >= 9


def test_outage_page_shows_timeline_and_explanation(client, acme_down):
    html = client.get(f"/outages/{acme_down.pk}/").content.decode()
    assert "Acme Cloud outage" in html and "Ongoing" in html
    assert "At the peak: about 48 reports a minute, where about 2 are normal." in html
    timeline = html[html.index('id="timeline"') :]
    assert timeline.index("Problems detected") < timeline.index("France affected")
    assert "About 9 reports a minute from France, where less than 1 is normal." in timeline
    # The detector's own account only inside the collapsed "How we decided".
    details = re.search(r'<details class="how-decided">.*?</details>', html, re.S).group(0)
    assert "48 reports in one minute where 2.0 are expected." in details
    for section in ("explanation", "timeline"):
        start = html.index(f'id="{section}"')
        words = html[start : html.index("</section>", start)].replace(details, "")
        for jargon in ("Confidence", "rule", "score", "p = ", "expected"):
            assert jargon not in words
    assert 'data-chart="series"' in html and 'class="chart-outage"' in html
    assert "Germany" in html and "Login" in html


def test_unknown_outage_page_is_404(client):
    assert client.get("/outages/424242/").status_code == 404


def test_outage_list_page_links_every_outage(client, acme_down):
    html = client.get("/outages/").content.decode()
    assert f'href="/outages/{acme_down.pk}/"' in html and "Acme Cloud" in html


def test_site_feed_is_atom_with_newest_outage_first(client, acme_down, make_service):
    other = outage_make(make_service("beta"), started_at=minute_now() - timedelta(days=1))
    response = client.get("/outages/feed/")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    entries = feed.findall(f"{ATOM}entry")
    links = [e.find(f"{ATOM}link").get("href") for e in entries]
    assert links[0].endswith(f"/outages/{acme_down.pk}/")
    assert links[1].endswith(f"/outages/{other.pk}/")
    title = entries[0].find(f"{ATOM}title").text
    assert title.startswith("Acme Cloud: problems since")
    summary = entries[0].find(f"{ATOM}summary").text
    assert "Germany" in summary and "about 48 reports a minute" in summary
    assert "expected" not in summary and "rule" not in summary


def test_a_feed_summary_is_html_escaped_as_its_type_html_says(client, acme_down):
    # Plain text sent as type="html": a reader rendered "<img ...>" in a name as an image and
    # lost the text (RFC 4287 3.1.1.2; text tester, forty-sixth session).
    Service.objects.filter(slug="acme").update(name="<img src=x onerror=alert(1)> & Co")
    ProblemType.objects.filter(slug="login").update(name="<b>Login</b> & SSO")
    feed = ElementTree.fromstring(client.get("/services/acme/outages/feed/").content)
    summary = feed.find(f"{ATOM}entry").find(f"{ATOM}summary")
    assert summary.get("type") == "html"
    assert "Most reported problems: &lt;b&gt;Login&lt;/b&gt; &amp; SSO (120)" in summary.text
    title = feed.find(f"{ATOM}entry").find(f"{ATOM}title")
    assert "<img src=x onerror=alert(1)> & Co" in title.text  # type text: as it is


@pytest.mark.parametrize("path", ["/outages/feed/", "/services/acme/outages/feed/"])
def test_a_name_stored_with_what_xml_cannot_hold_leaves_the_feed_well_formed(
    client, acme_down, path
):
    # Stored before names were checked: the site-wide feed was a 500 (a control character)
    # or invalid XML with a 200 (U+FFFE) (text tester, forty-sixth session).
    Service.objects.filter(slug="acme").update(name="Acme\x01 Cloud\ufffe")
    response = client.get(path)
    assert response.status_code == 200
    feed = ElementTree.fromstring(response.content)
    assert feed.find(f"{ATOM}entry").find(f"{ATOM}title").text.startswith("Acme Cloud")


@pytest.mark.parametrize("path", ["/outages/feed/", "/services/acme/outages/feed/"])
def test_feeds_have_an_author_and_ids_of_the_public_site(client, acme_down, settings, path):
    # RFC 4287 4.1.1: an author on the feed (or on every entry); the ids must not depend on
    # the host the reader came in by.
    settings.SITE_URL = "https://ow.example"
    settings.ALLOWED_HOSTS = ["testserver", "other.example"]
    feeds = [
        ElementTree.fromstring(client.get(path, HTTP_HOST=host).content)
        for host in ("testserver", "other.example")
    ]
    for feed in feeds:
        assert feed.find(f"{ATOM}author/{ATOM}name").text == "OutageWatch"
        assert feed.find(f"{ATOM}author/{ATOM}uri").text == "https://ow.example/"
        assert feed.find(f"{ATOM}id").text.startswith("https://ow.example/")
        entry_id = feed.find(f"{ATOM}entry/{ATOM}id").text
        assert entry_id == f"https://ow.example/outages/{acme_down.pk}/"
    assert feeds[0].find(f"{ATOM}id").text == feeds[1].find(f"{ATOM}id").text
    # Links too, whatever port and scheme the request claims (red-team tester F4).
    claimed = client.get(path, HTTP_HOST="testserver:6666", HTTP_X_FORWARDED_PROTO="https")
    links = [
        link.get("href") for link in ElementTree.fromstring(claimed.content).iter(f"{ATOM}link")
    ]
    assert len(links) >= 3 and all(href.startswith("https://ow.example/") for href in links)
    assert path in [href.removeprefix("https://ow.example") for href in links]


@pytest.mark.parametrize("path", ["/outages/feed/", "/services/acme/outages/feed/"])
def test_an_unchanged_feed_is_a_304_to_a_reader_that_polls(client, acme_down, path):
    first = client.get(path)
    assert first.status_code == 200 and first["ETag"] and first["Last-Modified"]
    by_date = client.get(path, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    by_tag = client.get(path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert (by_date.status_code, by_tag.status_code) == (304, 304)
    assert by_tag.content == b""


@pytest.mark.parametrize("path", ["/outages/feed/", "/services/acme/outages/feed/"])
def test_a_feed_whose_outage_changed_since_is_no_304_to_its_last_modified(client, acme_down, path):
    # Last-Modified is the newest change of an entry, not the newest start: an outage that
    # ended since a reader's last poll must reach a reader that asks by date; taken from the
    # starts, it survived every test (mutation tester, forty-seventh session).
    # The entry's date is when what it shows changed (the tick dates it: test_feed_dates.py).
    started = acme_down.started_at
    Outage.objects.filter(pk=acme_down.pk).update(entry_updated_at=started)
    first = client.get(path)
    ended = started + timedelta(minutes=30)
    Outage.objects.filter(pk=acme_down.pk).update(
        status=Outage.Status.RESOLVED, resolved_at=ended, entry_updated_at=ended
    )
    again = client.get(path, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 200
    assert again["Last-Modified"] != first["Last-Modified"]
    entry = ElementTree.fromstring(again.content).find(f"{ATOM}entry")
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["acme", "resolved"]


def test_the_feed_holds_the_newest_fifty_outages(client, service):
    # Which outages appear: the newest FEED_ITEMS of them (mutation tester, 47th session).
    now = minute_now()
    starts = [now - timedelta(hours=h + 1) for h in range(51)]
    made = [
        outage_make(service, started_at=t, resolved_at=t + timedelta(minutes=20)) for t in starts
    ]
    feed = ElementTree.fromstring(client.get("/services/acme/outages/feed/").content)
    links = [e.find(f"{ATOM}link").get("href") for e in feed.findall(f"{ATOM}entry")]
    assert len(links) == 50
    assert links[0].endswith(f"/outages/{made[0].pk}/")
    assert links[-1].endswith(f"/outages/{made[49].pk}/")


@pytest.mark.parametrize("path", ["/outages/feed/", "/services/acme/outages/feed/"])
def test_a_feed_checked_with_head_has_the_get_s_etag_and_can_be_a_304(client, acme_down, path):
    # Django's conditional middleware skips HEAD: such a reader got no ETag (API tester).
    got, head = client.get(path), client.head(path)
    assert head.status_code == 200 and head["ETag"] == got["ETag"]
    assert head["Last-Modified"] == got["Last-Modified"]
    assert client.head(path, HTTP_IF_NONE_MATCH=got["ETag"]).status_code == 304


def test_service_feed_has_only_that_service(client, acme_down, make_service):
    outage_make(make_service("beta"))
    feed = ElementTree.fromstring(client.get("/services/acme/outages/feed/").content)
    assert feed.find(f"{ATOM}title").text == "OutageWatch: Acme Cloud outages"
    assert len(feed.findall(f"{ATOM}entry")) == 1
    assert client.get("/services/nope/outages/feed/").status_code == 404


def _expected_tile(html: str) -> str:
    return re.search(r"<dd data-expected>(?:\{#.*?#\})?(.*?)</dd>", html).group(1)


@pytest.mark.parametrize(("expected", "tile"), [(0.198, "less than 1"), (3.4, "about 3")])
def test_normal_now_is_shown_while_the_service_is_fine(client, service, expected, tile):
    baseline_store(service, flat_baseline(expected))  # with history (a cold start has none)
    status_make(service, 0, expected=expected, observed=0)
    html = client.get("/services/acme/").content.decode()
    assert _expected_tile(html) == tile


@pytest.mark.parametrize(("expected", "words"), [(1.5, "about 2"), (2.5, "about 3")])
def test_normal_now_is_rounded_like_the_status_sentence(client, service, expected, words):
    # The sentence said "about 2" beside a tile of 1.5; 2.5 was "about 2" (round() to even).
    baseline_store(service, flat_baseline(expected))  # with history: a normal to quote
    status_make(service, 2, expected=expected, observed=34)
    html = client.get("/services/acme/").content.decode()
    assert f"Now about 34 reports a minute, where {words} are normal." in html
    assert _expected_tile(html) == words


@pytest.mark.parametrize("path", ["/outages/feed/", "/services/quiet/outages/feed/"])
def test_a_feed_with_no_outages_is_dated_by_what_it_watches_and_can_be_a_304(
    client, make_service, path
):
    # Django dates an empty feed "now", to the microsecond: a new ETag and Last-Modified on
    # every poll of a service that never broke (docs tester, forty-seventh session).
    make_service("quiet", "Quiet Cloud")
    # The site's: its first service's (the catalog's, loaded by the migrations).
    since = Service.objects.filter(**({"slug": "quiet"} if "quiet" in path else {}))
    since = since.order_by("watched_since").first().watched_since
    first = client.get(path)
    assert first.status_code == 200
    assert first["Last-Modified"] == http_date(since.timestamp())
    assert client.get(path, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    updated = ElementTree.fromstring(first.content).find(f"{ATOM}updated").text
    assert datetime.fromisoformat(updated) == since
