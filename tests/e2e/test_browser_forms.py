"""Confirmations are shown where the visitor is looking, on a desktop and on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from alerts.models import Subscription
from reports.models import Report
from tests.e2e.browser import SCREENSHOTS, page  # noqa: F401  (fixture)
from tests.e2e.chromium import PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _open_service_page(web_server, page, make_service, viewport) -> None:  # noqa: F811
    make_service("acme", "Acme Cloud")
    if viewport:
        page.set_viewport_size(viewport)
    page.goto(f"{web_server.url}/services/acme/")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_report_confirmation_is_in_view_at_the_form(web_server, page, make_service, viewport):  # noqa: F811
    _open_service_page(web_server, page, make_service, viewport)
    page.select_option("#id_country", "DE")
    page.get_by_role("button", name="Login", exact=True).click()

    message = page.locator("#report [data-placed-message]")
    expect(message).to_contain_text("was counted")
    expect(message).to_be_in_viewport()
    assert page.url.endswith("/services/acme/#report")
    assert Report.objects.get().country == "DE"
    page.screenshot(path=str(SCREENSHOTS / f"report-confirmed-{viewport and 'phone'}.png"))


def test_report_region_list_follows_the_country(web_server, page, make_service):  # noqa: F811
    make_service("acme", "Acme Cloud")
    page.goto(f"{web_server.url}/services/acme/")
    page.select_option("#id_country", "FR")
    expect(page.locator('#report-regions option[value="Île-de-France"]')).to_have_count(1)
    page.locator("summary", has_text="Add a region").click()
    page.locator("#id_subdivision").fill("Île-de-France")
    page.get_by_role("button", name="Login", exact=True).click()
    expect(page.locator("#report [data-placed-message]")).to_contain_text("was counted")
    assert Report.objects.get().subdivision == "FR-IDF"


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_subscribe_confirmation_is_in_view_at_the_form(web_server, page, make_service, viewport):  # noqa: F811
    _open_service_page(web_server, page, make_service, viewport)
    page.locator("#subscribe-email").fill("ann@example.com")
    page.locator("#subscribe-countries").fill("Germany, France")
    page.get_by_role("button", name="Get alerts").click()

    message = page.locator("#subscribe [data-placed-message]")
    expect(message).to_contain_text("a confirmation link is on its way")
    expect(message).to_be_in_viewport()
    assert page.url.endswith("/services/acme/#subscribe")
    assert Subscription.objects.filter(email="ann@example.com").exists()


def test_subscribe_error_keeps_what_was_typed(web_server, page, make_service):  # noqa: F811
    make_service("acme", "Acme Cloud")
    page.goto(f"{web_server.url}/services/acme/")
    page.locator("#subscribe-email").fill("ann@example.com")
    page.locator("#subscribe-countries").fill("Germany, Narnia")
    page.get_by_role("button", name="Get alerts").click()

    error = page.locator("#subscribe .field-error")
    expect(error).to_contain_text("Narnia")
    expect(error).to_be_in_viewport()
    expect(page.locator("#subscribe-email")).to_have_value("ann@example.com")
    expect(page.locator("#subscribe-countries")).to_have_value("Germany, Narnia")
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_slack_channel_is_chosen_in_the_form(web_server, page, make_service, viewport):  # noqa: F811
    _open_service_page(web_server, page, make_service, viewport)
    page.locator("#subscribe-email").fill("ops@example.com")
    url = page.locator("#subscribe-url")
    expect(url).to_be_hidden()  # folded away: most people want the email
    page.get_by_text("Post them to Slack, Discord or a webhook instead").click()
    page.get_by_label("A Slack channel").check()
    url.fill("https://hooks.slack.com/services/T000/B000/XXXX")
    page.screenshot(path=str(SCREENSHOTS / f"subscribe-slack-{viewport and 'phone'}.png"))
    page.get_by_role("button", name="Get alerts").click()

    message = page.locator("#subscribe [data-placed-message]")
    expect(message).to_contain_text("a link to confirm and manage the Slack channel")
    expect(message).to_be_in_viewport()
    subscription = Subscription.objects.get()
    assert (subscription.channel, subscription.email) == ("slack", "ops@example.com")


def test_a_webhook_is_confirmed_on_its_page(web_server, page, make_service, stack_env, settings):  # noqa: F811
    # The page asked for no referrer; under that policy the browser sends "Origin: null"
    # with the page's own forms, and CSRF refused every button (the test client sends none).
    from alerts import services
    from alerts.tokens import manage_token_make

    service = make_service("acme", "Acme Cloud")
    requested = services.subscription_request(
        email="ops@example.com",
        service=service,
        countries=[],
        channel="webhook",
        url="https://hooks.example.com/outagewatch",
    )
    settings.SECRET_KEY = stack_env["SECRET_KEY"]  # the server checks the link's signature
    token = manage_token_make(subscription=requested.subscription)
    page.goto(f"{web_server.url}/subscriptions/manage/{token}/")
    page.get_by_role("button", name="Confirm: post alerts to this webhook", exact=True).click()

    expect(page.locator("#channel")).to_contain_text("Active since")
    requested.subscription.refresh_from_db()
    assert requested.subscription.confirmed_at is not None
    page.locator("#manage-acknowledged").check()
    page.locator("#acknowledged").get_by_role("button", name="Save").click()
    expect(page.locator("#channel")).to_contain_text("Posted when the official status page")


def test_region_list_of_the_preselected_country_is_filled_on_load(web_server, page, make_service):  # noqa: F811
    # The server renders no list (without JS it would stay this country's when another is
    # chosen); the script fills the preselected country's on load.
    make_service("acme", "Acme Cloud")
    page.context.add_cookies([{"name": "ow_country", "value": "DE", "url": web_server.url}])
    page.goto(f"{web_server.url}/services/acme/")
    expect(page.locator("#id_country")).to_have_value("DE")
    expect(page.locator('#report-regions option[value="Berlin"]')).to_have_count(1)
    page.select_option("#id_country", "FR")
    expect(page.locator('#report-regions option[value="Berlin"]')).to_have_count(0)
    expect(page.locator('#report-regions option[value="Île-de-France"]')).to_have_count(1)


def test_the_comment_box_counts_characters_as_the_server_does(web_server, page, make_service):  # noqa: F811
    # An emoji is two UTF-16 units: the browser's own maxlength stopped at 140 of them, half
    # of what the server takes (text tester, forty-sixth session).
    make_service("acme", "Acme Cloud")
    page.goto(f"{web_server.url}/services/acme/")
    page.select_option("#id_country", "DE")
    page.locator("summary", has_text="Add a region").click()
    box = page.locator("#id_comment")
    left = page.locator("#id_comment_left")
    expect(left).to_have_text(" (280 left)")
    box.fill("🔥" * 200 + "\nstill down")
    expect(left).to_have_text(" (69 left)")  # the line break is one character

    box.fill("🔥" * 281)
    expect(left).to_have_text(" (1 too many)")
    assert box.evaluate("b => b.validationMessage") == (
        "Comments can be up to 280 characters; yours has 281."
    )
    page.get_by_role("button", name="Login", exact=True).click()
    assert not Report.objects.exists()  # the browser held it back, with the server's words

    box.fill("🔥" * 280)
    page.get_by_role("button", name="Login", exact=True).click()
    expect(page.locator("#report [data-placed-message]")).to_contain_text("was counted")
    assert Report.objects.get().comment == "🔥" * 280
