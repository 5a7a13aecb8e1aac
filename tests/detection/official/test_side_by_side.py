"""The official status beside the crowd (issue 16 item 2): its words, the service and outage
API fields, the service and outage pages (never broken by a hostile or unreadable source),
and the poll that makes the news show at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from detection import presentation
from detection.cache import data_version
from detection.official import services
from detection.official.models import OfficialIncident, StatusSource
from detection.official.selectors import (
    OfficialIncidentView,
    OfficialStatus,
    OutageOfficial,
    official_status,
    outage_official,
)
from tests.detection.official.recorded import statuspage_open_at
from tests.detection.official.statusserver import Page, payload
from tests.detection.status_data import outage_make

M = timedelta(minutes=1)
AT = datetime(2026, 11, 30, 9, 45, tzinfo=UTC)
SUMMARY = "/api/v2/summary.json"


def _incident(**kw) -> OfficialIncidentView:
    fields = {
        "id": 7,
        "source_id": 1,
        "external_id": "x",
        "title": "Degraded logins",
        "status": "investigating",
        "impact": "major",
        "components": (),
        "url": "https://status.acme.example/incidents/x",
        "started_at": AT - 30 * M,
        "acknowledged_at": AT - 20 * M,
        "resolved_at": None,
        "updated_at": AT - 20 * M,
    }
    return OfficialIncidentView(**{**fields, **kw})


def _status(**kw) -> OfficialStatus:
    fields = {
        "service_id": 1,
        "source_id": 1,
        "kind": "statuspage",
        "page_url": "https://status.acme.example",
        "indicator": "major",
        "description": "Partial System Outage",
        "components": {},
        "open_incidents": (_incident(),),
        "last_success_at": AT - 2 * M,
        "last_error": "",
        "failures": 0,
        "stale": False,
    }
    return OfficialStatus(**{**fields, **kw})


# --- Words -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lead", "words"),
    [
        (14 * M, "OutageWatch detected this 14 minutes before the official status page "),
        (-M, "OutageWatch detected this 1 minute after the official status page "),
        (20 * timedelta(seconds=1), "OutageWatch detected this within a minute of the official"),
    ],
)
def test_lead_sentence_says_who_knew_first(lead, words):
    official = OutageOfficial(has_source=True, incident=_incident(), lead=lead, waiting=False)
    assert presentation.official_lead_sentence(official).startswith(words)


def test_lead_sentence_without_an_incident_or_a_source():
    waiting = OutageOfficial(has_source=True, incident=None, lead=None, waiting=True)
    never = OutageOfficial(has_source=True, incident=None, lead=None, waiting=False)
    none = OutageOfficial(has_source=False, incident=None, lead=None, waiting=False)
    assert presentation.official_lead_sentence(waiting) == (
        "The official status page has not acknowledged it yet."
    )
    assert presentation.official_lead_sentence(never) == (
        "The official status page never acknowledged it."
    )
    assert presentation.official_lead_sentence(none) == ""


def test_status_words_say_the_indicator_and_when_it_was_read():
    status = _status()
    assert presentation.official_status_sentence(status) == (
        "The official status page says: A major outage reported (Partial System Outage)."
    )
    assert presentation.official_read_sentence(status, now=AT) == "Last read at 09:43 UTC."
    quiet = _status(indicator="none", description="All Systems Operational", open_incidents=())
    assert presentation.official_status_sentence(quiet) == (
        "The official status page says: No problems reported (All Systems Operational)."
    )
    feed = _status(indicator="", description="")
    assert presentation.official_status_sentence(feed) == (
        "The official status page says: 1 open incident."
    )


def test_status_words_say_plainly_when_the_page_cannot_be_read():
    failing = _status(stale=True, failures=4, last_error="HTTP 503")
    assert not presentation.official_readable(failing)
    assert presentation.official_read_sentence(failing, now=AT) == (
        "The official status page could not be read since 09:43 UTC."
    )
    html = presentation.official_read_sentence(failing, now=AT, html=True)
    assert '<time datetime="2026-11-30T09:43:00Z"' in html
    unpolled = _status(stale=True)
    assert presentation.official_read_sentence(unpolled, now=AT).startswith(
        "The official status page has not been read since 09:43 UTC"
    )
    never = _status(last_success_at=None, stale=True, failures=3)
    assert presentation.official_read_sentence(never, now=AT) == ""
    assert not presentation.official_readable(never)


def test_alert_words_say_whether_the_provider_acknowledged_it():
    told = OutageOfficial(has_source=True, incident=_incident(), lead=10 * M, waiting=False)
    silent = OutageOfficial(has_source=True, incident=None, lead=None, waiting=True)
    sentence = presentation.official_alert_sentence
    assert sentence(told, service="Acme", now=AT) == "Acme acknowledged it at 09:25 UTC."
    assert sentence(told, service="Acme", zone="Europe/Berlin", now=AT) == (
        "Acme acknowledged it at 10:25 (UTC+1)."
    )
    assert sentence(silent, service="Acme", now=AT) == (
        "The official status page does not mention it yet."
    )
    assert sentence(silent, service="Acme", now=AT, resolved=True) == (
        "The official status page did not mention it."
    )
    none = OutageOfficial(has_source=False, incident=None, lead=None, waiting=False)
    assert sentence(none, service="Acme", now=AT) == ""


# --- The outage's incident: the track record's matching -----------------------------------


def _stored(source, external_id: str, *, started, acknowledged, resolved=None, impact="major"):
    return OfficialIncident.objects.create(
        source=source,
        external_id=external_id,
        title=f"Incident {external_id}",
        status="resolved" if resolved else "investigating",
        impact=impact,
        url=f"https://status.acme.example/incidents/{external_id}",
        started_at=started,
        acknowledged_at=acknowledged,
        resolved_at=resolved,
        updated_at=acknowledged,
        first_seen_at=acknowledged,
        last_seen_at=acknowledged,
    )


def _read(source, at: datetime) -> None:
    StatusSource.objects.filter(pk=source.pk).update(last_success_at=at)


def test_outage_matches_the_first_acknowledged_overlapping_incident(official_source, service):
    source = official_source(service, "https://status.acme.example/api/v2/summary.json")
    _read(source, AT - 2 * M)
    outage = outage_make(service, started_at=AT - 60 * M, resolved_at=AT - 10 * M)
    # detected at AT - 58 min
    _stored(source, "later", started=AT - 55 * M, acknowledged=AT - 30 * M)
    first = _stored(source, "first", started=AT - 50 * M, acknowledged=AT - 44 * M)
    _stored(source, "maint", started=AT - 59 * M, acknowledged=AT - 59 * M, impact="maintenance")
    _stored(source, "old", started=AT - 9 * 60 * M, acknowledged=AT - 9 * 60 * M,
            resolved=AT - 8 * 60 * M)  # fmt: skip

    official = outage_official(outage=outage, now=AT)

    assert official.incident is not None and official.incident.id == first.pk
    assert official.lead == 14 * M
    assert presentation.official_lead_sentence(official) == (
        "OutageWatch detected this 14 minutes before the official status page acknowledged it."
    )


def test_outage_without_incident_is_waiting_then_never_acknowledged(official_source, service):
    source = official_source(service, "https://status.acme.example/api/v2/summary.json")
    _read(source, AT - 2 * M)
    open_outage = outage_make(service, started_at=AT - 60 * M)
    assert outage_official(outage=open_outage, now=AT).waiting
    open_outage.delete()
    over = outage_make(service, started_at=AT - 8 * 60 * M, resolved_at=AT - 7 * 60 * M)
    official = outage_official(outage=over, now=AT)
    assert (official.has_source, official.incident, official.waiting) == (True, None, False)
    # Within ACK_GRACE of its start the provider may still post: not "never" yet.
    assert outage_official(outage=over, now=AT - 7 * 60 * M).waiting


# --- The API ----------------------------------------------------------------------------------


@pytest.fixture
def polled(status_server, official_source, service):
    """Acme's status page polled just now: a major incident published 20 minutes ago."""
    now = timezone.now()
    body = statuspage_open_at(started=now - 30 * M, published=now - 20 * M)
    url = status_server.serve(SUMMARY, Page(body))
    source = official_source(service, url)
    assert services.status_source_poll(source_id=source.pk, now=now).outcome == "updated"
    return source


def test_service_api_shows_the_official_status(api_client, make_service, polled):
    body = api_client.get("/api/v1/services/acme/").json()
    official = body["official"]
    assert official["indicator"] == "major"
    assert official["label"] == "A major outage reported"
    assert official["stale"] is False and official["readable"] is True
    assert official["last_read_at"] is not None
    [incident] = official["open_incidents"]
    assert incident["title"] == "Disruption with some GitHub services"
    assert incident["status"] == "investigating"
    assert incident["url"] == "https://stspg.io/yq4kbvh2wm1t"
    assert set(incident) == {
        "id", "title", "status", "url", "started_at", "acknowledged_at", "resolved_at",
    }  # fmt: skip

    make_service("other", "Other")
    assert api_client.get("/api/v1/services/other/").json()["official"] is None


def test_outage_api_links_the_official_incident(api_client, service, polled):
    now = timezone.now()
    outage = outage_make(service, started_at=now - 40 * M)  # detected 38 minutes ago
    body = api_client.get(f"/api/v1/outages/{outage.pk}/").json()
    incident = body["official_incident"]
    assert set(incident) == {
        "id", "title", "status", "url", "started_at", "acknowledged_at", "resolved_at",
    }  # fmt: skip
    assert incident["title"] == "Disruption with some GitHub services"
    assert body["official_lead"] == (
        "OutageWatch detected this 18 minutes before the official status page acknowledged it."
    )


def test_outage_api_without_a_source_has_no_official_incident(api_client, service):
    outage = outage_make(service)
    body = api_client.get(f"/api/v1/outages/{outage.pk}/").json()
    assert body["official_incident"] is None and body["official_lead"] == ""


def test_a_source_never_read_says_nothing_about_an_outage(client, official_source, service):
    official_source(service, "https://status.acme.example/api/v2/summary.json")
    outage = outage_make(service)
    assert outage_official(outage=outage).has_source is False
    html = client.get(f"/outages/{outage.pk}/").content.decode()
    assert 'data-live="outage-official"' in html and "acknowledged" not in html


def test_schema_documents_the_official_fields(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert "official" in schema["ServiceDetail"]["properties"]
    assert "official_incident" in schema["OutageDetail"]["properties"]
    assert set(schema["OfficialIncident"]["properties"]) >= {
        "id", "title", "url", "status", "acknowledged_at",
    }  # fmt: skip


# --- Pages ------------------------------------------------------------------------------------


def test_service_page_shows_the_official_status_and_its_incident(client, polled):
    html = client.get("/services/acme/").content.decode()
    assert "The official status page says: A major outage reported" in html
    assert 'href="https://stspg.io/yq4kbvh2wm1t"' in html
    assert "Disruption with some GitHub services" in html
    assert "Last read at" in html
    live = client.get("/services/acme/live.json").json()["regions"]["official"]
    assert "Disruption with some GitHub services" in live


def test_outage_page_says_the_lead_time(client, service, polled):
    outage = outage_make(service, started_at=timezone.now() - 40 * M)
    html = client.get(f"/outages/{outage.pk}/").content.decode()
    assert (
        "OutageWatch detected this 18 minutes before the official status page acknowledged it."
    ) in html
    assert 'href="https://stspg.io/yq4kbvh2wm1t"' in html


@pytest.mark.parametrize(
    "page",
    [
        Page(payload("statuspage_wrong_types.json")),
        Page(payload("statuspage_truncated.json")),
        Page(b"x" * 3_000_000),
        Page(status=302, headers=(("Location", "http://169.254.169.254/latest/"),)),
        Page(b"<html>Gateway</html>", status=502, content_type="text/html"),
    ],
    ids=["wrong-types", "truncated", "huge", "redirect-private", "502"],
)
def test_a_source_that_never_read_leaves_the_service_page_whole(
    client, status_server, official_source, service, caplog, page
):
    source = official_source(service, status_server.serve(SUMMARY, page))
    result = services.status_source_poll(source_id=source.pk, now=timezone.now())
    assert result.outcome in ("refused", "failed") and result.reason

    answer = client.get("/services/acme/")
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'data-live="official"' in html and "The official status page says" not in html
    assert client.get("/services/acme/live.json").status_code == 200
    assert api_official(client) is not None


def api_official(client):
    return client.get("/api/v1/services/acme/").json()["official"]


def test_a_page_unreadable_for_long_says_so_since_the_last_read(
    client, status_server, official_source, service, settings
):
    now = timezone.now()
    hostile = "<script>alert(1)</script> Outage"
    body = statuspage_open_at(started=now - 90 * M, published=now - 80 * M, title=hostile)
    source = official_source(service, status_server.serve(SUMMARY, Page(body)))
    services.status_source_poll(source_id=source.pk, now=now - 60 * M)
    status_server.serve(SUMMARY, Page(payload("statuspage_wrong_types.json")))
    services.status_source_poll(source_id=source.pk, now=now - 30 * M)

    html = client.get("/services/acme/").content.decode()

    read = (now - 60 * M).astimezone(UTC)
    assert "The official status page could not be read since" in html
    assert f"{read:%H:%M} UTC" in html
    assert "The official status page says" not in html  # stale: not called current
    assert "<script>alert(1)" not in html
    official = api_official(client)
    assert official["stale"] is True and official["readable"] is False
    assert official["summary"].startswith("The official status page could not be read since")


def test_an_escaped_incident_title_on_the_page(client, status_server, official_source, service):
    now = timezone.now()
    body = statuspage_open_at(
        started=now - 9 * M, published=now - 5 * M, title='<img src=x onerror="alert(1)">'
    )
    source = official_source(service, status_server.serve(SUMMARY, Page(body)))
    services.status_source_poll(source_id=source.pk, now=now)
    html = client.get("/services/acme/").content.decode()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "<img src=x" not in html


# --- The poll shows its news at once ------------------------------------------------------------


def test_a_poll_that_changes_what_pages_show_invalidates_the_cached_reads(
    status_server, official_source, service, django_capture_on_commit_callbacks
):
    now = timezone.now()
    body = statuspage_open_at(started=now - 9 * M, published=now - 5 * M)
    source = official_source(service, status_server.serve(SUMMARY, Page(body)))
    before = data_version()
    with django_capture_on_commit_callbacks(execute=True):
        services.status_source_poll(source_id=source.pk, now=now)
    changed = data_version()
    assert changed != before

    StatusSource.objects.filter(pk=source.pk).update(etag="", last_modified="")
    with django_capture_on_commit_callbacks(execute=True):
        services.status_source_poll(source_id=source.pk, now=now + 2 * M)
    assert data_version() == changed  # the same page again: nothing to show anew
    assert official_status(service=service, now=now + 2 * M).open_incidents
