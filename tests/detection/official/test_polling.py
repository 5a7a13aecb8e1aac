"""Polling a fake status server: incidents across polls, conditional requests, backoff, the
per-host budget, and the selectors the pages read. Clocks pinned with ``now=``."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from detection.official import selectors, services
from detection.official.models import OfficialIncident, StatusSource
from reports.models import Service
from tests.detection.official.conftest import NOW
from tests.detection.official.statusserver import Page, payload

pytestmark = pytest.mark.django_db

SUMMARY = "/api/v2/summary.json"


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def serve(server, name: str, path: str = SUMMARY, **kw) -> str:
    return server.serve(path, Page(payload(name), **kw))


def test_an_incident_is_created_updated_and_resolved_across_polls(
    status_server, official_source, make_service
):
    url = serve(status_server, "statuspage_open.json")
    source = official_source(make_service("github"), url)

    first = services.status_source_poll(source_id=source.pk, now=NOW)

    assert (first.outcome, first.opened) == ("updated", 1)
    incident = OfficialIncident.objects.get()
    assert (incident.status, incident.impact, incident.components) == (
        "investigating",
        "major",
        ["Copilot"],
    )
    acknowledged = datetime(2026, 11, 30, 9, 14, 3, 112000, tzinfo=UTC)
    assert incident.acknowledged_at == acknowledged and incident.first_seen_at == NOW
    assert incident.started_at == datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
    assert list(incident.updates.values_list("status", flat=True)) == ["investigating"] * 2

    serve(status_server, "statuspage_identified.json")
    second = services.status_source_poll(source_id=source.pk, now=NOW + minutes(10))

    incident.refresh_from_db()
    assert (second.outcome, second.opened, second.resolved) == ("updated", 0, 0)
    assert (incident.status, incident.impact) == ("identified", "minor")
    assert incident.acknowledged_at == acknowledged  # the first publication stays
    assert incident.updates.filter(status="identified").count() == 1

    serve(status_server, "statuspage_resolved.json")
    third = services.status_source_poll(source_id=source.pk, now=NOW + minutes(12))

    incident.refresh_from_db()
    assert third.resolved == 1
    assert (incident.status, incident.resolved_at) == ("resolved", NOW + minutes(12))
    assert list(incident.updates.values_list("status", flat=True)) == [
        "investigating",
        "investigating",
        "identified",
        "resolved",
    ]
    source.refresh_from_db()
    assert (source.indicator, source.description) == ("none", "All Systems Operational")

    # Polling the same page again changes nothing.
    services.status_source_poll(source_id=source.pk, now=NOW + minutes(14))
    assert incident.updates.count() == 4 and OfficialIncident.objects.count() == 1


def test_an_etag_answered_with_304_changes_nothing_but_the_poll_times(
    status_server, official_source, make_service
):
    url = serve(status_server, "statuspage_open.json", etag='"v1"')
    source = official_source(make_service("github"), url)
    services.status_source_poll(source_id=source.pk, now=NOW)
    # The page changes but the server still says "not modified" for v1: we must not reparse.
    serve(status_server, "statuspage_resolved.json", etag='"v1"')

    result = services.status_source_poll(source_id=source.pk, now=NOW + minutes(2))

    assert result.outcome == "not_modified"
    first, second = status_server.requests
    assert "if-none-match" not in first.headers
    assert second.headers["if-none-match"] == '"v1"'
    source.refresh_from_db()
    assert source.indicator == "major" and OfficialIncident.objects.get().is_open
    assert source.last_success_at == NOW + minutes(2)
    assert source.next_poll_at == NOW + minutes(4)


def test_last_modified_is_sent_back_as_if_modified_since(
    status_server, official_source, make_service
):
    stamp = "Mon, 30 Nov 2026 09:31:12 GMT"
    url = serve(status_server, "feed.atom", "/history.atom", last_modified=stamp)
    source = official_source(make_service("example"), url, kind="feed")

    outcomes = [
        services.status_source_poll(source_id=source.pk, now=NOW + minutes(k)).outcome
        for k in (0, 2)
    ]

    assert outcomes == ["updated", "not_modified"]
    assert status_server.requests[1].headers["if-modified-since"] == stamp


def test_failures_back_off_exponentially_and_the_first_good_poll_recovers(
    status_server, official_source, make_service, settings, caplog
):
    settings.OFFICIAL_BACKOFF_MAX_SECONDS = 600
    status_server.serve(SUMMARY, Page(b"upstream gone", status=502))
    source = official_source(make_service("github"), status_server.url(SUMMARY))
    waits = []
    at = NOW
    with caplog.at_level(logging.WARNING, logger="detection.official"):
        for _ in range(3):
            assert services.status_source_poll(source_id=source.pk, now=at).outcome == "failed"
            source.refresh_from_db()
            waits.append(source.next_poll_at - at)
            at = source.next_poll_at

    assert waits == [timedelta(seconds=240), timedelta(seconds=480), timedelta(seconds=600)]
    assert source.failures == 3 and source.last_error == "HTTP 502"
    assert "failure 3 in a row): HTTP 502" in caplog.text

    serve(status_server, "statuspage_open.json")
    assert services.status_source_poll(source_id=source.pk, now=at).outcome == "updated"
    source.refresh_from_db()
    assert (source.failures, source.next_poll_at) == (0, at + timedelta(seconds=120))


def test_the_sweeper_keeps_to_each_hosts_budget(
    official_source, make_service, settings, django_capture_on_commit_callbacks
):
    settings.OFFICIAL_HOST_REQUESTS_PER_MINUTE = 2
    shared = [
        official_source(make_service(f"svc{k}"), f"http://127.0.0.1:9/{k}/summary.json")
        for k in range(5)
    ]
    elsewhere = official_source(make_service("other"), "http://status.other.example/feed")

    with django_capture_on_commit_callbacks() as queued:
        first = services.official_sweep(now=NOW)
    again = services.official_sweep(now=NOW + timedelta(seconds=30))
    later = services.official_sweep(now=NOW + timedelta(seconds=61))

    assert len(queued) == len(first) == 3  # two from the shared host, one from the other
    assert elsewhere.pk in first
    assert again == []  # the shared host's minute is spent; the claimed ones are leased
    assert len(later) == 2 and not set(later) & set(first)
    unclaimed = {s.pk for s in shared} - set(first) - set(later)
    assert StatusSource.objects.get(pk=unclaimed.pop()).next_poll_at == NOW  # still due


def test_a_claimed_poll_lost_with_its_worker_is_claimed_again_after_the_lease(
    official_source, make_service, settings
):
    settings.OFFICIAL_CLAIM_SECONDS = 300
    source = official_source(make_service("github"), "http://127.0.0.1:9/summary.json")

    assert services.official_sweep(now=NOW) == [source.pk]
    assert services.official_sweep(now=NOW + minutes(4)) == []
    assert services.official_sweep(now=NOW + minutes(5)) == [source.pk]


def test_a_backdated_incident_is_acknowledged_no_earlier_than_a_read_without_it(
    status_server, official_source, make_service
):
    url = serve(status_server, "statuspage_resolved.json")
    source = official_source(make_service("github"), url)
    services.status_source_poll(source_id=source.pk, now=NOW)  # 09:45: nothing open
    serve(status_server, "statuspage_open.json")  # says it was created at 09:14

    services.status_source_poll(source_id=source.pk, now=NOW + minutes(2))

    incident = OfficialIncident.objects.get()
    assert incident.acknowledged_at == NOW
    assert selectors.official_incident_acknowledged_at(incident_id=incident.pk) == NOW


@pytest.mark.parametrize(
    ("kind", "name", "status", "indicator"),
    [
        ("incidentio", "incidentio.json", "identified", "major"),
        ("statusio", "statusio.json", "identified", "major"),
        ("feed", "feed.rss", "investigating", "minor"),
    ],
)
def test_every_kind_is_polled_into_incidents(
    status_server, official_source, make_service, kind, name, status, indicator
):
    source = official_source(make_service("acme"), serve(status_server, name, "/status"), kind)

    services.status_source_poll(source_id=source.pk, now=NOW)

    status_now = selectors.official_status(service=source.links.get().service, now=NOW)
    assert status_now.indicator == indicator and status_now.kind == kind
    [incident] = status_now.open_incidents
    assert incident.status == status


def test_a_feed_does_not_resolve_an_incident_it_stops_listing(
    status_server, official_source, make_service
):
    # Feeds keep a window of recent entries: one that scrolled out is not thereby resolved.
    url = serve(status_server, "feed.atom", "/history.atom")
    source = official_source(make_service("example"), url, kind="feed")
    services.status_source_poll(source_id=source.pk, now=NOW)
    status_server.serve(
        "/history.atom",
        Page(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>'),
    )

    services.status_source_poll(source_id=source.pk, now=NOW + minutes(2))

    login = OfficialIncident.objects.get(title="Login failures for some users")
    assert login.is_open
    assert OfficialIncident.objects.get(title="Delayed notifications").resolved_at is not None


# --- selectors ---------------------------------------------------------------------------------


@pytest.fixture
def github_page(status_server, official_source, make_service):
    url = serve(status_server, "statuspage_open.json")
    github = make_service("github")
    source = official_source(github, url)
    copilot = make_service("github-copilot")
    official_source(copilot, url, components=["Copilot"])
    git = make_service("git-operations")
    official_source(git, url, components=["Git Operations"])
    services.status_source_poll(source_id=source.pk, now=NOW)
    return github, copilot, git


def test_the_official_status_is_the_pages_or_its_components(github_page):
    github, copilot, git = github_page

    statuses = selectors.official_statuses(services=[github, copilot, git], now=NOW)

    assert statuses[github.pk].indicator == "major"
    assert statuses[github.pk].description == "Partial System Outage"
    assert statuses[copilot.pk].indicator == "major"  # partial_outage
    assert statuses[copilot.pk].components == {"Copilot": "partial_outage"}
    assert [i.title for i in statuses[copilot.pk].open_incidents] == [
        "Disruption with some GitHub services"
    ]
    # Git operations are fine and the incident names Copilot only.
    assert (statuses[git.pk].indicator, statuses[git.pk].description) == ("none", "")
    assert statuses[git.pk].open_incidents == ()
    assert not statuses[github.pk].stale
    assert statuses[github.pk].last_success_at == NOW


def test_component_names_the_page_does_not_use_stand_for_the_whole_page(
    github_page, official_source, make_service, status_server
):
    renamed = make_service("renamed")
    official_source(renamed, status_server.url(SUMMARY), components=["Codespaces"])

    official = selectors.official_status(service=renamed, now=NOW)

    assert (official.indicator, official.description) == ("major", "Partial System Outage")
    assert len(official.open_incidents) == 1
    assert len(selectors.official_incidents_between(service=renamed, start=NOW, end=NOW)) == 1


def test_the_official_status_is_stale_without_a_good_read_for_a_while(github_page, settings):
    github, _, _ = github_page
    settings.OFFICIAL_STALE_SECONDS = 900

    assert not selectors.official_status(service=github, now=NOW + minutes(15)).stale
    assert selectors.official_status(service=github, now=NOW + minutes(16)).stale


def test_a_service_without_a_source_has_no_official_status(make_service):
    assert selectors.official_status(service=make_service("quiet"), now=NOW) is None


def test_incidents_overlapping_a_time_range(github_page, status_server):
    github, copilot, git = github_page
    started = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)

    def between(service, start, end):
        return selectors.official_incidents_between(service=service, start=start, end=end)

    assert between(github, started - minutes(60), started - minutes(1)) == []
    [open_one] = between(github, started - minutes(60), started + minutes(1))
    assert open_one.is_open and open_one.acknowledged_at > open_one.started_at
    assert between(github, NOW + minutes(600), NOW + minutes(660)) == [open_one]  # still open
    assert between(git, started, NOW) == []
    serve(status_server, "statuspage_resolved.json")
    services.status_source_poll(source_id=open_one.source_id, now=NOW + minutes(10))
    assert between(copilot, NOW + minutes(11), NOW + minutes(60)) == []
    [closed] = between(copilot, NOW + minutes(9), NOW + minutes(60))
    assert closed.resolved_at == NOW + minutes(10)


# --- the data file -----------------------------------------------------------------------------


def test_the_data_file_links_catalog_services_to_shared_sources(make_service, tmp_path):
    github, copilot = make_service("github"), make_service("github-copilot")
    entries = json.loads(services.SOURCES_FILE.read_text())["sources"]

    linked = services.status_sources_load(now=NOW)

    assert linked == Service.objects.filter(slug__in=entries).count() >= 2

    assert github.official_source.source_id == copilot.official_source.source_id
    assert copilot.official_source.components == ["Copilot"]
    source = github.official_source.source
    assert (source.kind, source.url) == (
        "statuspage",
        "https://www.githubstatus.com/api/v2/summary.json",
    )
    assert source.host == "www.githubstatus.com" and source.next_poll_at == NOW
    # Reloading keeps the polling state.
    StatusSource.objects.filter(pk=source.pk).update(failures=2, etag='"x"')
    enabled = StatusSource.objects.filter(enabled=True).count()
    services.status_sources_load(now=NOW + minutes(5))
    source.refresh_from_db()
    assert (source.failures, source.etag, source.next_poll_at) == (2, '"x"', NOW)
    # A file that names an unknown kind is refused whole.
    bad = tmp_path / "sources.json"
    bad.write_text('{"sources": {"github": {"kind": "html", "url": "https://x.example"}}}')
    with pytest.raises(ValueError, match="needs a kind"):
        services.status_sources_load(path=bad)
    # So is a link for people that is no web page, and a file of the wrong shape.
    for text, message in [
        ('{"github": {"kind": "feed", "url": "https://x.example/f", "page_url": "javascript:'
         'alert(1)"}}', "page_url must be an http"),
        ('{"github": {"kind": "feed", "url": "http://"}}', "needs a kind"),
        ('{"github": "https://x.example"}', "sources must map"),
        ('["github"]', "sources must map"),
    ]:  # fmt: skip
        bad.write_text('{"sources": ' + text + "}")
        with pytest.raises(ValueError, match=message):
            services.status_sources_load(path=bad)
    # A file that is no object, and one URL given as two kinds (ops tester F7, F8).
    for text, message in [
        ('[]', "not a sources file"),
        ('{"github": {"kind": "feed", "url": "https://x.example/s"}, "gitlab": {"kind": '
         '"statuspage", "url": "https://x.example/s"}}', "is given as feed elsewhere"),
    ]:  # fmt: skip
        bad.write_text(text if text == "[]" else '{"sources": ' + text + "}")
        with pytest.raises(ValueError, match=message):
            services.status_sources_load(path=bad)
    assert StatusSource.objects.filter(enabled=True).count() == enabled


def test_a_key_under_a_former_slug_still_links_the_renamed_service(make_service, tmp_path):
    """The catalog renamed oldhub to newhub (docs/catalog.md); sources.json not yet: its
    status page stays linked, and a key under the current slug wins over the former one."""
    from reports.models import FormerSlug

    newhub = make_service("newhub")
    FormerSlug.objects.create(slug="oldhub", service=newhub)
    sources = tmp_path / "sources.json"
    old = {"kind": "statuspage", "url": "https://status.oldhub.example/api/v2/summary.json"}
    sources.write_text(json.dumps({"sources": {"oldhub": old}}))
    assert services.status_sources_load(path=sources, now=NOW) == 1
    assert Service.objects.get(pk=newhub.pk).official_source.source.url == old["url"]

    new = {"kind": "statuspage", "url": "https://status.newhub.example/api/v2/summary.json"}
    sources.write_text(json.dumps({"sources": {"oldhub": old, "newhub": new}}))
    assert services.status_sources_load(path=sources, now=NOW) == 1
    assert Service.objects.get(pk=newhub.pk).official_source.source.url == new["url"]


def test_an_incident_link_that_is_not_a_web_address_is_not_kept(
    status_server, official_source, make_service
):
    # The pages link the incident's url: a "javascript:" one from a status page ran in our
    # readers' browsers. Only the scheme check stood in the way, and no test (mutation tester,
    # forty-seventh session).
    doc = json.loads(payload("statuspage_open.json"))
    doc["incidents"][0]["shortlink"] = "javascript:alert(document.cookie)"
    url = status_server.serve(SUMMARY, Page(json.dumps(doc).encode()))
    source = official_source(make_service("github"), url)

    assert services.status_source_poll(source_id=source.pk, now=NOW).opened == 1

    assert OfficialIncident.objects.get().url == ""
