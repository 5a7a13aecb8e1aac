"""A page view renders only what is its visitor's own (bench/web/README.md, "Pages rendered
once per version"): the home page's catalog and cards, the live regions of the service and
outage pages, are rendered once per catalog version and detection tick and shared by every
visitor; the service comes from the process's catalog copy. What changes still shows at once:
a catalog edit, a tick, a search."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection.cache import data_version_bump
from detection.models import JobCursor
from detection.views import OUTAGE_REGIONS, SERVICE_REGIONS
from reports.models import Service
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    flat_baseline,
    minute_now,
    outage_make,
    status_make,
)

pytestmark = pytest.mark.django_db


def _queries(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return [query["sql"] for query in queries]


def _edit(django_capture_on_commit_callbacks, change) -> None:
    # The catalog's edits are announced after their commit (reports.signals), as in production.
    with django_capture_on_commit_callbacks(execute=True):
        change()


def test_a_second_home_view_asks_the_database_nothing(client, service, midday):
    client.get("/")
    assert _queries(client, "/") == []


def test_a_second_service_page_view_reads_only_the_comments(client, service, midday):
    client.get("/services/acme/")
    queries = _queries(client, "/services/acme/")
    assert len(queries) == 1 and 'FROM "reports_report"' in queries[0], queries


def test_a_second_outage_page_view_reads_only_the_outage_and_its_comments(client, service, midday):
    outage = outage_make(service, started_at=minute_now() - timedelta(minutes=30))
    client.get(f"/outages/{outage.pk}/")
    queries = _queries(client, f"/outages/{outage.pk}/")
    # Which outage (its address), and what people said during it.
    assert len(queries) <= 3, queries
    assert not any("detection_bucket" in sql for sql in queries), queries
    shown = client.get(f"/outages/{outage.pk}/")
    assert not set(OUTAGE_REGIONS.values()) & {t.name for t in shown.templates}


def test_a_second_service_page_view_renders_no_live_region(client, service, midday):
    client.get("/services/acme/")
    shown = client.get("/services/acme/")
    assert not set(SERVICE_REGIONS.values()) & {t.name for t in shown.templates}


def test_the_home_page_shows_a_catalog_edit_at_once(
    client, make_service, service, midday, django_capture_on_commit_callbacks
):
    assert "Acme Cloud" in client.get("/").content.decode()
    _edit(django_capture_on_commit_callbacks, lambda: make_service("zeta", "Zeta Mail"))
    page = client.get("/").content.decode()
    assert "Zeta Mail" in page and "Acme Cloud" in page

    def retire() -> None:
        zeta = Service.objects.get(slug="zeta")
        zeta.is_active = False
        zeta.save()

    _edit(django_capture_on_commit_callbacks, retire)
    assert "Zeta Mail" not in client.get("/").content.decode()


def test_the_home_card_follows_the_next_tick(client, service, midday):
    assert 'service-card-ok" href="/services/acme/"' in client.get("/").content.decode()
    now = minute_now()
    JobCursor.objects.update_or_create(name=JobCursor.BUCKETS, defaults={"position": now})
    buckets_make(service, {now - timedelta(minutes=m): 30 for m in range(1, 40)})
    baseline_store(service, flat_baseline(2.0))
    status_make(service, 2, outage=outage_make(service, started_at=now - timedelta(minutes=30)))
    data_version_bump()  # what the tick does after it commits
    page = client.get("/").content.decode()
    assert 'service-card-problems" href="/services/acme/"' in page


def test_a_search_is_answered_for_itself(client, make_service, service, midday):
    make_service("zeta", "Zeta Mail")
    client.get("/")  # the whole catalog, cached
    page = client.get("/?q=zeta").content.decode()
    assert "Zeta Mail" in page and "Acme Cloud" not in page
    assert "data-filter-empty hidden" in page
    nothing = client.get("/?q=qqqqzzzz").content.decode()
    assert "Zeta Mail" not in nothing and "data-filter-empty hidden" not in nothing


def test_the_report_form_selects_the_country_given(client, service, midday):
    page = client.get("/services/acme/", HTTP_CF_IPCOUNTRY="FR").content.decode()
    assert page.count(" selected>") == 1
    assert '<option value="FR" selected>France</option>' in page
    sent = client.post("/services/acme/", {"country": "DE", "problem": "nonsense"})
    assert sent.status_code == 400
    body = sent.content.decode()
    assert body.count(" selected>") == 1 and '<option value="DE" selected>Germany</option>' in body


def _poll(client, path: str) -> tuple[int, list[str]]:
    etag = client.get(path)["ETag"]
    with CaptureQueriesContext(connection) as queries:
        status = client.get(path, HTTP_IF_NONE_MATCH=etag).status_code
    return status, [query["sql"] for query in queries]


def test_a_poll_of_an_unchanged_service_answer_asks_the_database_nothing(client, service, midday):
    # An open page polls every 30 s: on an outage day the polls outnumber the page views.
    assert _poll(client, "/services/acme/live.json") == (304, [])


def test_a_poll_of_an_unchanged_outage_answer_asks_the_database_nothing(client, service, midday):
    outage = outage_make(service, started_at=minute_now() - timedelta(minutes=30))
    assert _poll(client, f"/outages/{outage.pk}/live.json") == (304, [])


def test_a_poll_for_what_is_not_there_is_a_404_each_time(
    client, service, midday, django_capture_on_commit_callbacks
):
    outage = outage_make(service, started_at=minute_now() - timedelta(minutes=30))
    for _ in range(2):  # a miss is never cached
        assert client.get(f"/outages/{outage.pk + 1}/live.json").status_code == 404
        assert client.get("/services/nothing/live.json").status_code == 404

    def retire() -> None:
        service.is_active = False
        service.save()

    _edit(django_capture_on_commit_callbacks, retire)
    assert client.get("/services/acme/live.json").status_code == 404
