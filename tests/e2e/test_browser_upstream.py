"""The home page shows an outage at a provider (several of its dependents down together) as
it is grouped, and drops it when it ends, without a reload, in a real browser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from detection.cache import data_version_bump
from detection.models import Outage
from detection.services.upstream import upstream_refresh
from reports.models import Service
from tests.detection.status_data import minute_now, outage_make
from tests.e2e.browser import SCREENSHOTS, come_back, page  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
FASTLY = ["reddit", "spotify", "pinterest", "vimeo"]


def test_home_page_shows_an_upstream_outage_without_reload(web_server, page):  # noqa: F811
    # An earlier live-server test may have flushed the catalog (services and providers).
    call_command("catalog_load", verbosity=0)
    page.goto(f"{web_server.url}/")
    page.evaluate("window.__notReloaded = true")
    section = page.locator("[data-upstream-provider=fastly]")
    expect(page.locator("[data-live=board]")).to_be_visible()
    expect(section).to_have_count(0)

    started = minute_now() - timedelta(minutes=12)
    outages = [
        outage_make(Service.objects.get(slug=slug), started_at=started + timedelta(minutes=k))
        for k, slug in enumerate(FASTLY)
    ]
    assert len(upstream_refresh(now=timezone.now())) == 1
    data_version_bump()
    come_back(page)

    expect(section).to_have_count(1)
    expect(section.locator(".upstream-sentence")).to_contain_text(
        "Probably an outage at Fastly: Reddit, Spotify and 2 more are affected since"
    )
    # The time is a <time> element, which localtime.js shows in the reader's zone.
    expect(section.locator("time[data-local]")).to_have_count(1)
    expect(section.locator(".upstream-links a")).to_have_count(4)
    page.screenshot(path=str(SCREENSHOTS / "live-home-upstream.png"))

    Outage.objects.filter(pk__in=[o.pk for o in outages]).update(
        status=Outage.Status.RESOLVED, resolved_at=timezone.now()
    )
    upstream_refresh(now=timezone.now())
    data_version_bump()
    come_back(page)

    expect(section).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True
