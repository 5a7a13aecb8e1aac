"""Upstream outages where people see them: the home page's section (and its live part), the
outage page's note and the API's ``upstream`` field."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from detection import presentation, selectors
from detection.models import Outage
from detection.services.upstream import upstream_refresh
from reports.models import Service
from tests.detection.conftest import T0
from tests.detection.status_data import catalog_outage

pytestmark = pytest.mark.django_db
M = dt.timedelta(minutes=1)
FASTLY = ["reddit", "spotify", "pinterest", "vimeo"]


def outage(slug: str, minute: int, *, resolved: int | None = None) -> Outage:
    end = T0 + resolved * M if resolved is not None else None
    return catalog_outage(slug, T0 + minute * M, resolved=end)


@pytest.fixture
def fastly():
    members = [outage(slug, k) for k, slug in enumerate(FASTLY)]
    [row] = upstream_refresh(now=T0 + 10 * M)
    return row, members


def test_the_sentence_names_two_services_and_counts_the_rest(fastly):
    row, _ = fastly
    view = selectors.upstream_views(ids=[row.id])[row.id]
    text = presentation.upstream_sentence(view, now=T0 + 10 * M)
    assert (
        text
        == "Probably an outage at Fastly: Reddit, Spotify and 2 more are affected since 12:00 UTC."
    )
    html = presentation.upstream_sentence(view, html=True, now=T0 + 10 * M)
    assert '<time datetime="2026-11-23T12:00:00Z" data-local="auto">12:00 UTC</time>' in html
    berlin = presentation.upstream_sentence(view, zone="Europe/Berlin", now=T0 + 10 * M)
    assert berlin.endswith("since 13:00 (UTC+1).")


def test_three_services_are_all_named_and_an_ended_one_says_when():
    for k, slug in enumerate(FASTLY[:3]):
        outage(slug, k, resolved=40 + k)
    [row] = upstream_refresh(now=T0 + 60 * M)
    view = selectors.upstream_views(ids=[row.id])[row.id]
    assert not view.is_active
    text = presentation.upstream_sentence(view, now=T0 + 60 * M)
    assert text == (
        "Probably an outage at Fastly: Reddit, Spotify and Pinterest were affected "
        "from 12:00 UTC to 12:42 UTC."
    )


def test_the_home_page_shows_an_upstream_outage_while_it_lasts(client, fastly):
    _, members = fastly
    page = client.get("/").content.decode()
    assert 'data-upstream-provider="fastly"' in page
    assert "Probably an outage at Fastly: Reddit, Spotify and 2 more are affected since" in page
    for o in members:
        assert f'href="/outages/{o.id}/"' in page
    board = client.get("/live.json").json()["regions"]["board"]
    assert "Probably an outage at Fastly" in board
    Outage.objects.filter(id__in=[o.id for o in members]).update(
        status="resolved", resolved_at=T0 + 30 * M
    )
    upstream_refresh(now=T0 + 40 * M)
    from detection.cache import data_version_bump

    data_version_bump()
    assert "Probably an outage at" not in client.get("/").content.decode()
    assert "Probably an outage at" not in client.get("/live.json").json()["regions"]["board"]


def test_the_outage_page_says_it_is_grouped_and_links_the_others(client, fastly):
    _, members = fastly
    first, others = members[0], members[1:]
    page = client.get(f"/outages/{first.id}/").content.decode()
    assert "Probably part of an outage at Fastly: 3 other services on Fastly had problems" in page
    for o in others:
        assert f'href="/outages/{o.id}/"' in page
    assert f'<li><a href="/outages/{first.id}/"' not in page
    regions = client.get(f"/outages/{first.id}/live.json").json()["regions"]
    assert "Probably part of an outage at Fastly" in regions["outage-upstream"]
    alone = outage("netflix", 0)
    assert "Probably" not in client.get(f"/outages/{alone.id}/").content.decode()


def test_the_api_gives_each_grouped_outage_its_upstream(api_client, fastly):
    row, members = fastly
    alone = outage("netflix", 30)
    body = api_client.get("/api/v1/outages/").json()
    by_id = {item["id"]: item for item in body["results"]}
    assert by_id[alone.id]["upstream"] is None
    upstream = by_id[members[0].id]["upstream"]
    assert upstream["provider"] == "fastly" and upstream["provider_name"] == "Fastly"
    assert upstream["id"] == row.id and upstream["resolved_at"] is None
    assert upstream["since"] == "2026-11-23T12:00:00Z"
    assert [s["service"] for s in upstream["services"]] == FASTLY
    assert [s["outage_id"] for s in upstream["services"]] == [o.id for o in members]
    assert upstream["summary"].startswith("Probably an outage at Fastly: Reddit, Spotify and 2")
    detail = api_client.get(f"/api/v1/outages/{members[2].id}/").json()
    assert detail["upstream"] == upstream
    assert api_client.get(f"/api/v1/outages/{alone.id}/").json()["upstream"] is None


def test_the_outage_list_reads_every_upstream_at_once(api_client, fastly):
    def queries() -> int:
        from detection.cache import data_version_bump

        data_version_bump()
        with CaptureQueriesContext(connection) as ctx:
            assert api_client.get("/api/v1/outages/").status_code == 200
        return len(ctx)

    few = queries()
    for k, slug in enumerate(["discord", "shopify", "canva", "coinbase"]):
        outage(slug, 50 + k)
    upstream_refresh(now=T0 + 60 * M)
    assert Outage.objects.filter(upstream__provider__slug="cloudflare").count() == 4
    assert queries() == few


def test_a_provider_outage_hitting_four_services_shows_as_one(
    send_reports, client, api_client, monkeypatch, eager, django_capture_on_commit_callbacks
):
    """The issue's "Done when": the real tick opens four outages on Fastly's dependents and
    the home page and the API show them as one upstream outage; Fastly's follower, who
    reported nothing, gets one email about it."""
    from django.core import mail
    from django.utils import timezone

    from alerts.models import Subscription
    from detection.cache import data_version_bump
    from detection.models import UpstreamOutage
    from detection.services import buckets_aggregate, detect_tick
    from tests.detection.test_upstream import _history

    Subscription.objects.create(
        email="ann@example.com",
        service=Service.objects.get(slug="fastly"),
        confirmed_at=T0 - dt.timedelta(days=1),
    )
    services = list(Service.objects.filter(slug__in=FASTLY).order_by("name"))
    assert len(services) == 4
    _history(services)
    for k in range(16):
        minute = T0 + k * M
        for service in services:
            send_reports(service, minute, 2 + (25 if k >= 8 else 0), country="DE")
        now = minute + M + dt.timedelta(seconds=2)
        buckets_aggregate(now=now)
        with django_capture_on_commit_callbacks(execute=True):
            detect_tick(now=now)
    [email] = mail.outbox
    assert email.to == ["ann@example.com"]
    assert email.subject.startswith("Probably an outage at Fastly: ")
    outages = Outage.objects.filter(service__in=services, status="active")
    assert outages.count() == 4
    row = UpstreamOutage.objects.get()
    assert {o.upstream_id for o in outages} == {row.id}

    monkeypatch.setattr(timezone, "now", lambda: T0 + 17 * M)
    data_version_bump()
    page = client.get("/").content.decode()
    assert page.count("data-upstream-provider=") == 1
    sentence = r"Probably an outage at Fastly: (\w+), (\w+) and 2 more are affected since <time"
    named = re.search(sentence, page)
    assert named is not None and set(named.groups()) < {"Pinterest", "Reddit", "Spotify", "Vimeo"}
    body = api_client.get("/api/v1/outages/?status=active").json()
    groups = {item["upstream"]["id"] for item in body["results"]}
    assert groups == {row.id}
    services_listed = body["results"][0]["upstream"]["services"]
    assert sorted(s["service"] for s in services_listed) == sorted(FASTLY)


def test_the_providers_own_outage_page_names_its_dependents(client):
    members = [outage(slug, k) for k, slug in enumerate(["discord", "shopify", "canva"])]
    own = outage("cloudflare", 1)
    upstream_refresh(now=T0 + 10 * M)
    page = client.get(f"/outages/{own.id}/").content.decode()
    assert "3 services that run on Cloudflare had problems at the same time" in page
    for o in members:
        assert f'href="/outages/{o.id}/"' in page
    dependent = client.get(f"/outages/{members[0].id}/").content.decode()
    assert "Probably part of an outage at Cloudflare: 2 other services on Cloudflare" in dependent
    assert f'href="/outages/{own.id}/">Cloudflare</a> (the provider itself)' in dependent
