"""The outage page and the track record read official incidents by one rule (tester F7, F8).

An incident row links the outage it overlaps on every surface, read since or not; only "the
provider says nothing" needs a page we have read. An incident of a shared page counts once in
everyone's figures, and one that names only components a service is not narrowed to is not
that service's (OpenAI's page: "ChatGPT" is not the API's).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from detection.official.models import OfficialIncident, StatusSource
from detection.official.selectors import official_status, outage_official
from detection.official.track_record import track_record
from tests.detection.status_data import outage_make

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
M = timedelta(minutes=1)
OPENAI = "https://status.openai.com/proxy/status.openai.com"


@pytest.fixture
def openai(official_source, make_service):
    """ChatGPT and the OpenAI API on one incident.io page, narrowed to their components, the
    page never read (as after `simulate history` without network)."""
    chatgpt = make_service("chatgpt", "ChatGPT")
    api = make_service("openai-api", "OpenAI API")
    source = official_source(chatgpt, OPENAI, kind="incidentio", components=["ChatGPT"])
    official_source(api, OPENAI, kind="incidentio", components=["API"])
    return chatgpt, api, source


def _incident(source: StatusSource, key: str, at: datetime, **kw) -> OfficialIncident:
    fields = {
        "title": "Elevated errors",
        "status": "resolved",
        "impact": "major",
        "components": ["ChatGPT"],
        "started_at": at,
        "acknowledged_at": at,
        "resolved_at": at + 60 * M,
        "updated_at": at + 60 * M,
        "first_seen_at": at,
        "last_seen_at": at + 60 * M,
    }
    return OfficialIncident.objects.create(source=source, external_id=key, **{**fields, **kw})


def _outage(service, started: datetime):
    # Detected two minutes after its onset (outage_make).
    return outage_make(service, started_at=started, resolved_at=started + 50 * M)


def test_an_incident_links_its_outage_on_every_surface_though_its_page_was_never_read(
    openai, api_client, monkeypatch
):
    chatgpt, _, source = openai
    outage = _outage(chatgpt, NOW - timedelta(days=2, minutes=2))  # detected 16:05 two days ago
    incident = _incident(source, "inc-1", outage.detected_at + 14 * M)
    monkeypatch.setattr(timezone, "now", lambda: NOW)

    official = outage_official(outage=outage, now=NOW)
    month = track_record(now=NOW).overall[30]
    body = api_client.get(f"/api/v1/outages/{outage.pk}/").json()

    assert (official.has_source, official.lead) == (True, 14 * M)
    assert official.incident is not None and official.incident.id == incident.pk
    assert (month.matched_incidents, month.leads) == (1, (14.0,))
    assert body["official_incident"]["id"] == incident.pk
    assert body["official_lead"] == (
        "OutageWatch detected this 14 minutes before the official status page acknowledged it."
    )


def test_never_acknowledged_needs_a_page_read_on_every_surface(openai, client):
    chatgpt, _, source = openai
    outage = _outage(chatgpt, NOW - timedelta(days=3))  # no incident anywhere near it

    def said() -> tuple[bool, int, bool]:
        record = track_record(now=NOW)
        [row] = record.services
        return (
            outage_official(outage=outage, now=NOW).has_source,
            record.overall[30].unacknowledged_outages,
            row.has_source,
        )

    assert said() == (False, 0, False)  # a page never read says nothing
    source.last_success_at = NOW - 5 * M
    source.save(update_fields=["last_success_at"])
    assert said() == (True, 1, True)  # a page read: "never acknowledged", on both


def test_incidents_of_a_shared_page_count_once_and_only_where_they_belong(openai):
    chatgpt, _, source = openai
    detected = _outage(chatgpt, NOW - timedelta(days=4)).detected_at
    _incident(source, "seen", detected + 14 * M)
    _incident(source, "unseen", NOW - timedelta(days=9))

    record = track_record(now=NOW)
    month = record.overall[30]

    # Two incidents, both ChatGPT's: not four, and none charged to the API as a miss.
    assert (month.incidents, month.matched_incidents, month.unseen_incidents) == (2, 1, 1)
    assert [row.slug for row in record.services] == ["chatgpt"]
    assert record.services[0].records[30].incidents == 2


def test_an_incident_naming_both_services_is_each_ones_and_counted_once(openai):
    chatgpt, _, source = openai
    detected = _outage(chatgpt, NOW - timedelta(days=4)).detected_at
    _incident(source, "both", detected + 5 * M, components=["ChatGPT", "API"])
    _incident(source, "unnamed", NOW - timedelta(days=6), components=[])  # scope unknown

    record = track_record(now=NOW)
    rows = {row.slug: row.records[30] for row in record.services}

    assert (record.overall[30].incidents, record.overall[30].matched_incidents) == (2, 1)
    assert (rows["chatgpt"].incidents, rows["chatgpt"].matched_incidents) == (2, 1)
    assert (rows["openai-api"].incidents, rows["openai-api"].unseen_incidents) == (2, 2)


def test_a_page_listing_other_components_only_leaves_the_service_all_clear(openai):
    """incident.io names only the components its open incidents affect: ChatGPT down says
    nothing against the API's name, and the API is not shown ChatGPT's incident."""
    chatgpt, api, source = openai
    source.indicator = "major"
    source.components = {"ChatGPT": "partial_outage"}
    source.last_success_at = NOW - M
    source.save()
    _incident(source, "open", NOW - 20 * M, status="investigating", resolved_at=None)

    mine, theirs = official_status(service=api, now=NOW), official_status(service=chatgpt, now=NOW)

    assert (mine.indicator, mine.open_incidents) == ("none", ())
    assert theirs.indicator == "major" and len(theirs.open_incidents) == 1
