"""The pages on a 390-px phone in a real browser: nothing scrolls sideways, tables reflow into
stacked rows, chart labels stay readable, the map shows, and the home page has a category
index that jumps to each category."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from reports.models import Category
from tests.detection.status_data import (
    baseline_store,
    buckets_make,
    country_state_make,
    flat_baseline,
    minute_now,
    outage_make,
    status_make,
)
from tests.e2e.browser import SCREENSHOTS, page  # noqa: F401  (fixture)
from tests.e2e.chromium import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def phone(page):  # noqa: F811
    page.set_viewport_size(PHONE)
    return page


@pytest.fixture
def acme_down(make_service):
    """An outage going on in Germany and France, with a long service name elsewhere on the
    home page and a past outage, so every table and list has rows."""
    service = make_service("acme", "Acme Cloud")
    other = Category.objects.create(slug="banking", name="Banking")
    for i in range(3):
        make_service(f"bank{i}", f"Very Long Named Regional Savings Bank {i}", category=other)
    now = minute_now()
    quiet = {now - timedelta(minutes=m): 2 for m in range(31, 6 * 60)}
    loud = {now - timedelta(minutes=m): 30 for m in range(1, 31)}
    buckets_make(service, quiet | loud)
    for country in ("DE", "FR"):
        buckets_make(service, quiet | loud, country=country)
        country_state_make(service, country, 2)
    baseline_store(service, flat_baseline(2.0))
    outage_make(
        service,
        started_at=now - timedelta(days=2),
        resolved_at=now - timedelta(days=2, hours=-1),
        countries=("DE", "FR", "ES", "IT", "PL"),
    )
    outage = outage_make(service, started_at=now - timedelta(minutes=30), countries=("DE", "FR"))
    status_make(service, 2, outage=outage, countries=("DE", "FR"), since=outage.started_at)
    return outage


def no_sideways_scroll(page) -> None:  # noqa: F811
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), page.url


def smallest_chart_label(page) -> float:  # noqa: F811
    """The rendered size in CSS pixels of the smallest label of the charts on screen."""
    return page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('svg.chart .chart-label')]
            .filter(t => t.getClientRects().length > 0)
            .map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a))"""
    )


def test_pages_fit_a_phone(web_server, phone, acme_down, make_service):
    # A "possible problems" verdict: the board's longer words of why (words tester F10).
    status_make(make_service("shaky", "Shaky Mail"), 1, observed=6.0, expected=2.0)
    phone.goto(web_server.url + "/")
    whys = phone.locator("#problems-now [data-board-why]")
    expect(whys).to_have_count(2)
    for i in range(2):
        box = whys.nth(i).bounding_box()
        line = float(whys.nth(i).evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
        assert box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] <= 5 * line  # a few lines, not a page of them
    for path in ("/", "/services/acme/", f"/outages/{acme_down.pk}/", "/outages/"):
        phone.goto(web_server.url + path)
        phone.wait_for_load_state("load")
        no_sideways_scroll(phone)
        name = path.strip("/").replace("/", "-") or "home"
        phone.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"), full_page=True)


def test_service_page_on_a_phone(web_server, phone, acme_down):
    phone.goto(f"{web_server.url}/services/acme/")
    # The narrow drawings are the ones shown, with labels of at least 11 px.
    expect(phone.locator('svg[data-chart="live-narrow"]')).to_be_visible()
    expect(phone.locator('svg[data-chart="live"]')).to_be_hidden()
    assert smallest_chart_label(phone) >= 11
    # The map fits the screen and colours the affected countries.
    world = phone.locator("svg[data-map]")
    expect(world).to_be_visible()
    assert world.bounding_box()["width"] <= PHONE["width"]
    expect(world.locator('use[data-country="DE"]')).to_have_class(
        "map-country map-problems map-shade-2"
    )
    # Table rows are stacked: every cell on its own line, labelled, within the screen.
    germany = phone.locator('#countries tr[data-country="DE"]')
    cells = germany.locator("td")
    boxes = [cells.nth(i).bounding_box() for i in range(cells.count())]
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]
    assert all(box["x"] + box["width"] <= PHONE["width"] for box in boxes)
    label = cells.first.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Country"'
    history = phone.locator("#outages tbody tr").first.locator("td")
    assert history.nth(0).bounding_box()["y"] < history.nth(1).bounding_box()["y"]


def test_desktop_chart_labels_are_readable(web_server, page, acme_down):  # noqa: F811
    page.goto(f"{web_server.url}/services/acme/")
    expect(page.locator('svg[data-chart="live"]')).to_be_visible()
    expect(page.locator('svg[data-chart="live-narrow"]')).to_be_hidden()
    assert smallest_chart_label(page) >= 10


def test_home_category_index_jumps_to_a_category(web_server, phone, acme_down):
    phone.goto(f"{web_server.url}/")
    index = phone.get_by_role("navigation", name="Categories")
    expect(index.get_by_role("link")).to_have_count(2)
    index.get_by_role("link", name="Banking").click()
    heading = phone.locator("#cat-banking")
    expect(heading).to_be_in_viewport()
    assert phone.evaluate("window.scrollY") > 0
    assert phone.url.endswith("#cat-banking")


def test_home_with_the_whole_catalog_fits_a_phone(web_server, phone, db):
    call_command("catalog_load", verbosity=0)
    phone.goto(f"{web_server.url}/")
    no_sideways_scroll(phone)
    index = phone.get_by_role("navigation", name="Categories")
    categories = phone.locator("section.category")
    expect(index.get_by_role("link")).to_have_count(categories.count())
    assert categories.count() > 5
    # The last category is one tap away from the top.
    last = categories.last.locator("h2")
    index.get_by_role("link").last.click()
    expect(last).to_be_in_viewport()


def test_phone_header_has_the_same_side_gutter_as_the_content(web_server, page, make_service):  # noqa: F811
    make_service("acme", "Acme Cloud")
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{web_server.url}/")
    content = page.locator("main h1").bounding_box()
    dot = page.locator(".brand-dot").bounding_box()
    search = page.locator("#header-q").bounding_box()
    api = page.locator(".header-nav a", has_text="API").bounding_box()
    gutter = content["x"]
    assert gutter >= 16
    # The logo's halo (a 3 px shadow) must not be cut at the screen's edge either.
    assert dot["x"] >= gutter and search["x"] >= gutter
    assert 375 - (search["x"] + search["width"]) >= gutter
    assert 375 - (api["x"] + api["width"]) >= gutter


def test_a_country_with_possible_problems_fits_320_px(web_server, page, make_service):  # noqa: F811
    # 400 % zoom of a 1280-px window (WCAG 1.4.10): the "Possible problems" badge beside the
    # label column made the countries' table, and the map with it, 7 px wider than the screen
    # (accessibility tester F2, forty-fifth session).
    service = make_service("deep", "DeepSeek")
    now = minute_now()
    buckets_make(service, {now - timedelta(minutes=m): 9 for m in range(1, 20)}, country="US")
    baseline_store(service, flat_baseline(0.5))
    country_state_make(service, "US", 1)
    status_make(service, 1, countries=("US",), since=now - timedelta(minutes=5))
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{web_server.url}/services/deep/")
    expect(page.locator('#countries tr[data-country="US"] .badge-possible')).to_be_visible()
    no_sideways_scroll(page)
