"""The track record where people and programs read it: the page and GET /api/v1/track-record/,
over the simulated month of test_track_record (clock pinned), and its cache."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from detection.cache import data_version_bump
from detection.models import Outage
from detection.official.matching import METHOD
from reports.models import Service
from tests.detection.official.test_track_record import NOW, simulated_month

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(official_source, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return simulated_month(official_source)


def _cells(html: str, slug: str, days: int) -> list[str]:
    """The text of one service's row in one span's table."""
    section = html.split(f'data-span="{days}"')[1].split("</section>")[0]
    row = section.split(f'data-track-service="{slug}"')[1].split("</tr>")[0]
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)
    ]


def test_the_track_record_page_shows_the_simulated_month(client, month):
    leads = month["leads"]
    html = client.get("/track-record/").content.decode()
    assert METHOD in html
    assert "Last 30 days" in html and "Last 90 days" in html
    median, p90 = np.median(leads), np.quantile(leads, 0.9)
    assert _cells(html, "slack", 30) == [
        "10",
        "9 of 10",
        f"{round(median)} min earlier",
        f"{round(p90)} min earlier",
        "1",
        "1",
    ]
    steam = _cells(html, "steam", 30)
    # No page read: whether the provider acknowledged its outages is not known, not 0 (pages
    # tester F12).
    assert steam == ["2", "0 of 0", "—", "—", "0", "not known"]
    assert "(no official page read)" in html.split('data-track-service="steam"')[1][:400]
    assert (
        f"In the last 30 days OutageWatch detected 12 outages; the providers posted 10 official "
        f"incidents, 9 of them also seen by the crowd. In the median, OutageWatch knew "
        f"{round(median)} min before the official status page." in html
    )
    # The site navigation leads here; tables carry the labels the phone layout shows.
    assert 'href="/track-record/">Track record</a>' in client.get("/").content.decode()
    assert 'data-label="Official incidents the crowd never saw"' in html


def test_the_track_record_api_gives_the_same_figures(api_client, month):
    leads = month["leads"]
    body = api_client.get("/api/v1/track-record/").json()
    assert body["spans"] == [30, 90] and body["method"] == METHOD
    assert body["computed_at"] == "2026-11-30T12:00:00Z"
    overall = {span["days"]: span for span in body["overall"]}
    assert overall[30]["summary"] == (
        "In the last 30 days OutageWatch detected 12 outages; the providers posted 10 official "
        "incidents, 9 of them also seen by the crowd. In the median, OutageWatch knew "
        f"{round(float(np.median(leads)))} min before the official status page."
    )
    assert overall[30] | {"summary": ""} == {
        "days": 30,
        "outages": 12,
        "official_incidents": 10,
        "matched_incidents": 9,
        "matched_outages": 9,
        "median_lead_minutes": round(float(np.median(leads)), 1),
        "p90_lead_minutes": round(float(np.quantile(leads, 0.9)), 1),
        "unseen_incidents": 1,
        "unacknowledged_outages": 1,
        "summary": "",
    }
    slack, steam = body["services"]
    assert (slack["service"], slack["has_official_source"]) == ("slack", True)
    assert slack["url"].endswith("/services/slack/")
    assert [s["outages"] for s in slack["spans"]] == [10, 10]
    assert (steam["service"], steam["has_official_source"]) == ("steam", False)
    assert steam["spans"][1]["median_lead_minutes"] is None
    assert body["page"].endswith("/track-record/")


def test_the_track_record_is_cached_until_the_data_version_moves(client, month):
    def outages() -> str:
        return _cells(client.get("/track-record/").content.decode(), "steam", 30)[0]

    assert outages() == "2"
    start = NOW - timedelta(days=1)
    Outage.objects.create(
        service=Service.objects.get(slug="steam"), started_at=start, detected_at=start,
        resolved_at=start + timedelta(minutes=20), status="resolved",
    )  # fmt: skip
    assert outages() == "2"  # cached: no query until a tick or a poll says something changed
    data_version_bump()
    assert outages() == "3"


def test_an_empty_track_record_says_so(client, api_client, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    html = client.get("/track-record/").content.decode()
    assert "No outage detected and no official incident in the last 30 days." in html
    assert api_client.get("/api/v1/track-record/").json()["services"] == []


def test_a_service_with_incidents_is_not_labelled_as_never_read(client, month, monkeypatch):
    # The simulated history writes incidents for pages never read: the row said "(no official
    # page read)" beside "matched 2 of 3" (pages tester F12). Incidents are the page's own
    # evidence; what needs a read ("never acknowledged") is what is not known.
    from detection.official import track_record as module

    monkeypatch.setattr(module, "source_read", lambda source: False)
    data_version_bump()
    html = client.get("/track-record/").content.decode()
    slack = html.split('data-track-service="slack"')[1][:400]
    assert "(no official page read)" not in slack
    assert _cells(html, "slack", 30)[-1] == "not known"
    assert _cells(html, "slack", 30)[1] == "9 of 10"


def _overall_cells(html: str, days: int) -> list[str]:
    section = html.split(f'data-span="{days}"')[1].split("</section>")[0]
    row = section.split("track-overall")[1].split("</tr>")[0]
    return [
        re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)
    ]


def test_all_services_never_acknowledged_is_not_known_when_no_page_was_read(
    client, month, monkeypatch
):
    # With no status page read, "All services" said 0 beside "not known" on every service
    # (newcomer tester, forty-ninth session).
    from detection.official import track_record as module

    assert _overall_cells(client.get("/track-record/").content.decode(), 30)[-1] == "1"
    monkeypatch.setattr(module, "source_read", lambda source: False)
    data_version_bump()
    assert _overall_cells(client.get("/track-record/").content.decode(), 30)[-1] == "not known"
