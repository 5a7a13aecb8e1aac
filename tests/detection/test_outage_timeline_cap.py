"""An outage's page and API answer list its newest events only (selectors.TIMELINE_EVENTS),
say how many came before, and still quote the opening and countries in "How we decided": a
long outage of a giant service listed every one of its events."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection.cache import data_version_bump
from detection.models import OutageEvent
from detection.selectors import TIMELINE_EVENTS
from tests.detection.status_data import minute_now, outage_make

pytestmark = pytest.mark.django_db


def _peaks(outage, count: int) -> None:
    """`count` new peaks, a minute apart from the opening on."""
    OutageEvent.objects.bulk_create(
        OutageEvent(
            outage=outage,
            at=outage.detected_at + timedelta(minutes=5 + k),
            kind=OutageEvent.Kind.PEAK,
            observed=40 + k,
            expected=2,
            message=f"New peak: {40 + k} reports in one minute.",
        )
        for k in range(count)
    )


@pytest.fixture
def long_outage(service, midday):
    # Opened, France, then the peaks: 7 more events than a page lists.
    outage = outage_make(service, started_at=minute_now() - timedelta(hours=3))
    _peaks(outage, TIMELINE_EVENTS + 5)
    return outage


def _events_read(client, path: str) -> list[str]:
    data_version_bump()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in queries if 'FROM "detection_outageevent"' in q["sql"]]


def test_the_outage_page_lists_the_newest_events_and_says_how_many_came_before(client, long_outage):
    html = client.get(f"/outages/{long_outage.pk}/").content.decode()
    timeline = html.split('id="timeline"', 1)[1].split("</section>", 1)[0]
    assert timeline.count("<li") == TIMELINE_EVENTS
    assert f"The newest {TIMELINE_EVENTS} events, and 7 earlier events not listed here." in html
    # The newest peak is listed, the opening is not; "How we decided" still quotes both.
    assert "New peak" in timeline and "Problems detected" not in timeline
    decided = html.split('class="how-decided"', 1)[1].split("</details>", 1)[0]
    assert "30 reports in one minute, 2.0 expected." in decided
    assert "France: France affected too." in decided


def test_the_api_answer_lists_the_newest_events_and_counts_the_rest(api_client, long_outage):
    body = api_client.get(f"/api/v1/outages/{long_outage.pk}/").json()
    assert len(body["timeline"]) == TIMELINE_EVENTS
    assert body["timeline_earlier"] == 7
    assert [e["kind"] for e in body["timeline"]] == ["peak"] * TIMELINE_EVENTS
    newest = OutageEvent.objects.filter(outage=long_outage).order_by("-at").first()
    assert body["timeline"][-1]["observed"] == newest.observed
    decision = " ".join(body["decision"])
    assert "30 reports in one minute" in decision and "France: France affected" in decision


def test_a_short_timeline_is_listed_whole_in_one_query(client, api_client, service, midday):
    outage = outage_make(service, resolved_at=minute_now() - timedelta(minutes=5))
    body = api_client.get(f"/api/v1/outages/{outage.pk}/").json()
    assert [e["kind"] for e in body["timeline"]] == ["opened", "country", "resolved"]
    assert body["timeline_earlier"] == 0
    assert "earlier event" not in client.get(f"/outages/{outage.pk}/").content.decode()
    assert len(_events_read(api_client, f"/api/v1/outages/{outage.pk}/")) == 1


@pytest.mark.parametrize("path", ["/outages/{pk}/", "/api/v1/outages/{pk}/"])
def test_a_long_timeline_reads_a_page_of_events_not_all(client, long_outage, path):
    reads = _events_read(client, path.format(pk=long_outage.pk))
    listed = [sql for sql in reads if re.search(r"\bLIMIT\b", sql)]
    assert len(reads) <= 3 and listed and all(f"LIMIT {TIMELINE_EVENTS}" in sql for sql in listed)


def test_the_api_pages_through_the_whole_timeline_newest_first(api_client, service, midday):
    # A lull (resolved, reopened), many peaks, then the end: the lull stays "Seemed over" on
    # its page, and the end is "Back to normal" on the first page only.
    now = minute_now()
    outage = outage_make(service, started_at=now - timedelta(hours=3), resolved_at=now)
    OutageEvent.objects.filter(outage=outage, kind=OutageEvent.Kind.RESOLVED).update(
        at=now + timedelta(minutes=1)
    )
    for minutes, kind in ((-170, OutageEvent.Kind.RESOLVED), (-160, OutageEvent.Kind.REOPENED)):
        OutageEvent.objects.create(outage=outage, at=now + timedelta(minutes=minutes), kind=kind)
    _peaks(outage, TIMELINE_EVENTS)
    total = OutageEvent.objects.filter(outage=outage).count()

    detail = api_client.get(f"/api/v1/outages/{outage.pk}/").json()
    assert detail["timeline_earlier"] == total - TIMELINE_EVENTS
    # `next` keeps the page size.
    url, entries, pages = f"{detail['links']['timeline']}?page_size=20", [], 0
    while url:
        body = api_client.get(url).json()
        entries += body["results"]
        url, pages = body["next"], pages + 1
    assert pages == 3 and len(entries) == total
    stamps = [e["at"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)
    labels = [e["label"] for e in entries if e["kind"] == "resolved"]
    assert labels == ["Back to normal", "Seemed over"]
    assert entries[-1]["label"] == "Problems detected"


def test_an_unknown_outage_has_no_timeline(api_client, db):
    assert api_client.get("/api/v1/outages/999999/timeline/").status_code == 404
