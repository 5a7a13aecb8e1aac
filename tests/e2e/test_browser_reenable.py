"""The management page's "Send a test and re-enable", in a real browser against the
production server: the owner of a webhook disabled for failing turns it back on from the
page the "we stopped sending" email links to (its form passes CSRF, the test reaches the
receiver, the page says so)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from alerts.models import Subscription
from tests.alerts.receiver import Receiver
from tests.e2e.browser import page  # noqa: F401  (fixture)
from tests.e2e.conftest import running_web_server

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_a_disabled_webhook_is_re_enabled_from_its_page(page, make_service, stack_env, settings):  # noqa: F811
    from alerts import services
    from alerts.tokens import manage_token_make

    receiver = Receiver().start()
    subscription = Subscription.objects.create(
        email="ops@example.com",
        service=make_service("acme", "Acme Cloud"),
        channel="webhook",
        url=receiver.url,
        secret="s" * 64,
        confirmed_at="2026-01-01T00:00:00Z",
        failures=3,
    )
    services.subscription_disable(subscription=subscription, reason="HTTP 410: gone")
    settings.SECRET_KEY = stack_env["SECRET_KEY"]  # the server checks the link's signature
    token = manage_token_make(subscription=subscription)
    env = {**stack_env, "ALERT_HTTP_ALLOW_LOOPBACK": "1"}  # the receiver is on loopback
    try:
        with running_web_server(env) as web_server:
            page.goto(f"{web_server.url}/subscriptions/manage/{token}/")
            expect(page.locator("#channel")).to_contain_text("Disabled")
            page.get_by_role("button", name="Send a test and re-enable").click()

            expect(page.locator("#channel")).to_contain_text("Re-enabled")
            expect(page.locator("#channel")).to_contain_text("Active since")
    finally:
        receiver.stop()
    [test] = receiver.received
    assert test.json()["event"] == "test"
    subscription.refresh_from_db()
    assert subscription.disabled_at is None and subscription.failures == 0
