"""Open pages follow an outage as it opens and resolves, without a reload, in a real browser
against the production server: the status, the countries (table and map) and the charts of a
service page, the board and the cards of the home page all come from one read and agree.

The detector's rows are written as a tick writes them (buckets, baseline, status, outage,
country state), then the data version is bumped as a tick does after committing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from detection.cache import data_version_bump
from detection.models import Outage, SeriesState
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    country_state_make,
    flat_baseline,
    minute_now,
    outage_make,
    status_make,
)
from tests.e2e.browser import SCREENSHOTS, come_back, page  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def acme(make_service):
    """A service with six quiet hours (2 reports a minute, all from Germany) and a baseline
    that knows it; the detector has seen nothing unusual."""
    service = make_service("acme", "Acme Cloud")
    now = minute_now()
    quiet = {now - timedelta(minutes=m): 2 for m in range(11, 6 * 60)}
    buckets_make(service, quiet)
    buckets_make(service, quiet, country="DE")
    baseline_store(service, flat_baseline(2.0))
    baseline_store(service, flat_baseline(2.0), country="DE")
    status_make(service, 0, countries=(), observed=2, expected=2)
    return service


def outage_opens(service) -> Outage:
    """Ten minutes of 40 reports a minute from Germany, and what the tick makes of them."""
    now = minute_now()
    loud = {now - timedelta(minutes=m): 40 for m in range(1, 11)}
    buckets_make(service, loud)
    buckets_make(service, loud, country="DE")
    started = now - timedelta(minutes=10)
    outage = outage_make(service, started_at=started, countries=("DE",), events=False)
    status_make(service, 2, outage=outage, countries=("DE",), since=started, observed=40)
    state = country_state_make(service, "DE", 2)
    SeriesState.objects.filter(pk=state.pk).update(observed=40, expected=4)
    data_version_bump()
    return outage


def outage_resolves(service, outage: Outage) -> None:
    """The service back to normal. Germany's own series state is left at "problems", as a
    quiet country's state is until its series is judged again: the page must not show it."""
    Outage.objects.filter(pk=outage.pk).update(
        status=Outage.Status.RESOLVED, resolved_at=timezone.now()
    )
    status_make(service, 0, countries=(), observed=2, expected=2)
    assert SeriesState.objects.get(service=service, country="DE").level == 2
    data_version_bump()


def live_points(page) -> list[float]:  # noqa: F811
    """The y of every minute of the live chart (smaller is higher)."""
    points = page.locator('svg[data-chart="live"] .chart-observed').get_attribute("points")
    return [float(p.split(",")[1]) for p in points.split()]


def test_service_page_follows_an_outage_without_reload(web_server, page, acme):  # noqa: F811
    page.goto(f"{web_server.url}/services/acme/")
    page.evaluate("window.__notReloaded = true")
    status = page.locator("[data-live=status]")
    germany = page.locator('#countries tr[data-country="DE"]')
    germany_on_map = page.locator('svg[data-map] use[data-country="DE"]')
    expect(page.locator("[data-status-badge]")).to_have_text("No problems")
    expect(germany).to_have_attribute("data-level", "ok")
    expect(germany_on_map).to_have_class("map-country map-ok map-shade-0")
    # The live chart: one point a minute for six hours, flat.
    assert len(live_points(page)) == 360
    expect(page.locator('svg[data-chart="live"] .chart-outage')).to_have_count(0)

    announcer = page.locator("[data-live-announce]")
    expect(announcer).to_have_text("")  # nothing spoken at load
    expect(status).not_to_have_attribute("aria-live", "polite")  # not the whole card

    outage = outage_opens(acme)
    come_back(page)

    expect(status).to_have_attribute("data-level", "problems")
    expect(page.locator("[data-status-badge]")).to_have_text("Problems detected")
    # A change of state is spoken in a few words (pages tester F14).
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_text("Acme Cloud: Problems detected")
    expect(page.locator("[data-status-summary]")).to_contain_text("Germany")
    expect(germany).to_have_attribute("data-level", "problems")
    expect(germany.locator(".badge-problems")).to_have_text("Problems")
    expect(germany_on_map).to_have_class("map-country map-problems map-shade-2")  # 10x normal
    expect(page.locator('svg[data-chart="live"] .chart-outage')).to_have_count(1)
    ys = live_points(page)
    assert min(ys[-10:]) < min(ys[:-11]) - 50, "the rise shows at once on the live chart"
    expect(page.locator(f'#outages a[href="/outages/{outage.pk}/"]')).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "live-service-outage.png"), full_page=True)

    outage_resolves(acme, outage)
    come_back(page)

    expect(page.locator("[data-status-badge]")).to_have_text("No problems")
    expect(status).to_have_attribute("data-level", "ok")
    expect(germany).to_have_attribute("data-level", "ok")
    expect(page.locator("#countries table")).not_to_contain_text("Problems")
    expect(germany_on_map).to_have_class("map-country map-ok map-shade-0")
    expect(page.locator("[data-status-outage]")).to_have_count(0)
    # The outage stays shaded where it happened, now closed.
    expect(page.locator('svg[data-chart="live"] .chart-outage')).to_have_count(1)
    assert page.evaluate("window.__notReloaded") is True


def test_home_page_follows_an_outage_without_reload(web_server, page, acme):  # noqa: F811
    page.goto(f"{web_server.url}/")
    page.evaluate("window.__notReloaded = true")
    board = page.locator("[data-live=board]")
    card = page.locator('[data-card="acme"]')
    expect(board.locator(".all-clear")).to_be_visible()
    expect(card).to_have_class("service-card service-card-ok")
    expect(card.locator("svg.sparkline")).to_have_count(1)

    outage = outage_opens(acme)
    come_back(page)

    expect(board.locator('[data-board-service="acme"] [data-status-badge]')).to_have_text(
        "Problems detected"
    )
    # Why, in the status sentence's words (words tester F10).
    expect(board.locator('[data-board-service="acme"] [data-board-why]')).to_have_text(
        "Now about 40 reports a minute, where about 2 are normal."
    )
    expect(card).to_have_class("service-card service-card-problems")
    expect(card.locator(".badge-problems")).to_have_text("Problems detected")  # as on the board
    expect(card.locator("svg.sparkline-problems")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "live-home-outage.png"))

    outage_resolves(acme, outage)
    come_back(page)

    expect(board.locator(".all-clear")).to_be_visible()
    expect(board.locator("[data-board-service]")).to_have_count(0)
    expect(card).to_have_class("service-card service-card-ok")
    expect(card.locator(".badge")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True


def test_outage_page_shows_the_resolution_without_reload(web_server, page, acme):  # noqa: F811
    outage = outage_opens(acme)
    page.goto(f"{web_server.url}/outages/{outage.pk}/")
    page.evaluate("window.__notReloaded = true")
    when = page.locator("[data-live=outage-when] .badge")
    germany = page.locator('[data-live=outage-where] use[data-country="DE"]')
    expect(when).to_have_text("Ongoing")
    expect(germany).to_have_class("map-country map-problems map-shade-2")
    page.screenshot(path=str(SCREENSHOTS / "live-outage-page.png"), full_page=True)
    report = page.get_by_role("link", name="Report a problem with Acme Cloud")
    expect(report).to_have_attribute("href", "/services/acme/#report")

    outage_resolves(acme, outage)
    come_back(page)

    expect(when).to_have_text("Resolved")
    expect(page.locator("[data-live-announce]")).to_have_text("Acme Cloud outage: Resolved")
    expect(page.locator("[data-live=outage-when]")).to_contain_text("ended")
    expect(germany).to_have_class("map-country map-ok map-shade-0")
    expect(page.locator("[data-live=outage-explanation]")).to_contain_text("was down")
    assert page.evaluate("window.__notReloaded") is True
    report.click()
    expect(page.locator("#report")).to_be_visible()


def test_pages_carry_social_preview_tags(web_server, page, acme):  # noqa: F811
    outage = outage_opens(acme)
    for path, title in (
        ("/", "OutageWatch"),
        ("/services/acme/", "Is Acme Cloud down? Problems detected"),
        (f"/outages/{outage.pk}/", "Acme Cloud outage"),
    ):
        page.goto(web_server.url + path)
        assert title in page.locator('meta[property="og:title"]').get_attribute("content"), path
        assert page.locator('meta[property="og:description"]').get_attribute("content").strip()
        url = page.locator('meta[property="og:url"]').get_attribute("content")
        assert url == settings.SITE_URL + path  # the public address, not the Host header
        assert page.locator('meta[name="twitter:card"]').get_attribute("content") == "summary"
