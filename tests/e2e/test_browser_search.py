"""The service search in a real browser: typos, no match said so, Enter on one match."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.browser import SCREENSHOTS, page  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def catalog(make_service):
    for slug, name in [
        ("google-drive", "Google Drive"),
        ("gmail", "Gmail"),
        ("instagram", "Instagram"),
        ("microsoft-teams", "Microsoft Teams"),
        ("slack", "Slack"),
    ]:
        make_service(slug, name)


def _card(page, slug):  # noqa: F811
    return page.locator(f'li[data-service-name]:has(a[href="/services/{slug}/"])')


def test_live_filter_forgives_typos_and_says_when_nothing_matches(web_server, page, catalog):  # noqa: F811
    page.goto(f"{web_server.url}/")
    search = page.locator("#q")
    search.fill("gogle")
    expect(_card(page, "google-drive")).to_be_visible()
    expect(_card(page, "gmail")).to_be_visible()  # "Google Mail"
    expect(_card(page, "instagram")).to_be_hidden()
    expect(page.locator("[data-filter-empty]")).to_be_hidden()

    search.fill("ms teams")
    expect(_card(page, "microsoft-teams")).to_be_visible()
    expect(_card(page, "slack")).to_be_hidden()

    search.fill("qqqqqq")
    empty = page.locator("[data-filter-empty]")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("No service matches “qqqqqq”")
    expect(empty).to_be_in_viewport()
    page.screenshot(path=str(SCREENSHOTS / "search-no-match.png"))

    search.fill("")
    expect(empty).to_be_hidden()
    expect(_card(page, "slack")).to_be_visible()


def test_enter_on_a_single_match_opens_it(web_server, page, catalog):  # noqa: F811
    page.goto(f"{web_server.url}/")
    page.locator("#q").fill("instagramm")
    expect(page.locator("li[data-service-name]:visible")).to_have_count(1)
    page.locator("#q").press("Enter")
    page.wait_for_url(f"{web_server.url}/services/instagram/")
    expect(page.locator("h1")).to_have_text("Instagram")


def test_submitted_typo_search_finds_the_service_and_no_match_is_said(web_server, page, catalog):  # noqa: F811
    page.goto(f"{web_server.url}/?q=gogle")
    expect(_card(page, "google-drive")).to_be_visible()
    page.goto(f"{web_server.url}/?q=qqqqqq")
    expect(page.locator("[data-filter-empty]")).to_contain_text("No service matches")


def test_live_filter_finds_spaced_names_websites_and_questions(web_server, page, make_service):  # noqa: F811
    make_service("chatgpt", "ChatGPT", website="https://chatgpt.com")
    make_service("slack", "Slack")
    page.goto(f"{web_server.url}/")
    search = page.locator("#q")
    for query in ("chat gpt", "chatgpt.com", "is chatgpt down", "is chatgtp down"):
        search.fill(query)
        expect(_card(page, "chatgpt")).to_be_visible()
        expect(_card(page, "slack")).to_be_hidden()
        expect(page.locator("[data-filter-empty]")).to_be_hidden()


def test_live_filter_moves_an_exact_match_first(web_server, page, make_service):  # noqa: F811
    make_service("box", "Box")
    make_service("xbox-live", "Xbox Live")
    make_service("x", "X (Twitter)")
    page.goto(f"{web_server.url}/")
    page.locator("#q").fill("x")
    cards = page.locator("li[data-service-name]:visible a")
    expect(cards.first).to_have_attribute("href", "/services/x/")
    page.locator("#q").fill("")
    expect(page.locator("li[data-service-name] a").first).to_have_attribute(
        "href", "/services/box/"
    )


def test_the_live_filter_says_how_many_services_match(web_server, page, catalog):  # noqa: F811
    # The cards changed out of a screen reader's sight, with nothing said while some matched
    # (accessibility tester F7, forty-fifth session).
    page.goto(f"{web_server.url}/")
    count = page.locator("[data-filter-count]")
    expect(count).to_have_attribute("role", "status")
    page.locator("#q").fill("gogle")
    expect(count).to_have_text("2 services match")
    page.locator("#q").fill("slack")
    expect(count).to_have_text("1 service matches")
    page.locator("#q").fill("qqqqqq")
    expect(count).to_have_text("")  # the no-match paragraph says it
    page.locator("#q").fill("")
    expect(count).to_have_text("")


@pytest.mark.parametrize("query", ["Сбербанк", "微信", "🔥"])
def test_the_live_filter_says_no_match_for_a_name_in_another_script_or_an_emoji(
    web_server,
    page,  # noqa: F811
    catalog,
    query,
):
    # Every letter outside a-z was dropped: the box showed the whole catalog as the answer
    # (text tester, forty-sixth session).
    page.goto(f"{web_server.url}/")
    page.locator("#q").fill(query)
    expect(page.locator("li[data-service-name]:visible")).to_have_count(0)
    expect(page.locator("[data-filter-empty]")).to_contain_text(f"No service matches “{query}”")


def test_the_live_filter_finds_a_service_named_in_another_script(web_server, page, make_service):  # noqa: F811
    make_service("sberbank-online", "Сбербанк Онлайн")
    make_service("slack", "Slack")
    page.goto(f"{web_server.url}/")
    page.locator("#q").fill("СБЕРБАНК")
    expect(page.locator("li[data-service-name]:visible")).to_have_count(1)
    expect(_card(page, "sberbank-online")).to_be_visible()


@pytest.mark.parametrize("path", ["/", "/services/long-name/"])
def test_the_longest_one_word_name_fits_a_desktop_page(web_server, page, make_service, path):  # noqa: F811
    # 120 letters without a space (the catalog's limit) ran out of its card and off the
    # page at 1280 px, the service page four screens wide (text tester, forty-sixth session).
    make_service("long-name", "W" * 120)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{web_server.url}{path}")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 1280
    card = page.locator('li[data-service-name]:has(a[href="/services/long-name/"])')
    if path == "/":
        box, name = card.bounding_box(), card.locator(".service-name").bounding_box()
        assert name["x"] + name["width"] <= box["x"] + box["width"] + 1
