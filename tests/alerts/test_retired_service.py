"""A service retired from the catalog (is_active False) has no service page and no more
outages: its confirmation link says it was retired and changes nothing, and no page sends
a subscriber to its 404 (REPRO 6: "You will hear about Netflix outages", then a link to a
404)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts import emails, services, tokens
from alerts.models import ConfirmationDelivery, Subscription

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="([^"#]+)')


def _retire(service) -> None:
    service.is_active = False
    service.save(update_fields=["is_active"])


def _no_link_leads_to_a_404(client, page) -> None:
    links = [href for href in HREF.findall(page.content.decode()) if href.startswith("/")]
    assert links  # somewhere to go on from here
    for href in links:
        if "/static/" not in href:
            assert client.get(href).status_code != 404, href


def _confirm_path(service, **kw) -> tuple[Subscription, ConfirmationDelivery, str]:
    requested = services.subscription_request(
        email="ann@example.com", service=service, countries=[], **kw
    )
    confirmation = ConfirmationDelivery.objects.filter(purpose="confirm").latest("pk")
    token = tokens.confirm_token_make(confirmation=confirmation)
    return requested.subscription, confirmation, reverse("alerts:confirm", args=[token])


def test_confirming_for_a_retired_service_says_so_and_changes_nothing(service, client):
    subscription, confirmation, path = _confirm_path(service)
    _retire(service)

    shown = client.get(path)
    answered = client.post(path)

    for page in (shown, answered):
        assert page.status_code == 410
        text = page.content.decode()
        assert "Acme Cloud is no longer followed" in text and "has retired Acme Cloud" in text
        assert "You will hear about" not in text and '<form method="post"' not in text
        assert "/services/acme/" not in text
    subscription.refresh_from_db()
    confirmation.refresh_from_db()
    assert subscription.confirmed_at is None  # not activated
    assert confirmation.used_at is None  # nor the link used up
    _no_link_leads_to_a_404(client, answered)


def test_a_former_subscriber_is_not_subscribed_again_to_a_retired_service(service, client):
    subscription, _, path = _confirm_path(service)
    services.subscription_confirm(
        confirmation=ConfirmationDelivery.objects.filter(purpose="confirm").latest("pk")
    )
    subscription.refresh_from_db()
    services.subscription_unsubscribe(subscription=subscription)
    _, _, path = _confirm_path(service)  # a new link, mailed before the retirement
    _retire(service)

    assert client.post(path).status_code == 410

    assert Subscription.objects.get().unsubscribed_at is not None


def test_unsubscribing_from_a_retired_service_works_and_links_to_no_404(
    service, subscriber, client
):
    subscription = subscriber()
    _retire(service)
    path = reverse(
        "alerts:unsubscribe", args=[tokens.unsubscribe_token_make(subscription=subscription)]
    )

    asked = client.get(path)
    done = client.post(path)

    assert asked.status_code == done.status_code == 200
    assert Subscription.objects.get().unsubscribed_at is not None
    assert b"subscribe again there" not in done.content
    assert b"has retired Acme Cloud" in done.content
    for page in (asked, done):
        assert b"/services/acme/" not in page.content
    _no_link_leads_to_a_404(client, done)


def test_the_unsubscribe_page_of_an_active_service_still_links_back_to_it(subscriber, client):
    subscription = subscriber()
    path = reverse(
        "alerts:unsubscribe", args=[tokens.unsubscribe_token_make(subscription=subscription)]
    )

    done = client.post(path)

    assert b'href="/services/acme/"' in done.content and b"subscribe again there" in done.content


def test_a_retired_services_channel_is_neither_confirmed_nor_re_enabled(service, client):
    subscription, _, _ = _confirm_path(
        service, channel="webhook", url="https://hooks.example.com/x"
    )
    disabled = Subscription.objects.create(
        email="ops@example.com",
        service=service,
        channel="webhook",
        url="https://hooks.example.com/y",
        confirmed_at=timezone.now(),
        disabled_at=timezone.now(),
        disabled_reason="HTTP 410: gone",
    )
    _retire(service)
    pending = re.sub(r"^https?://[^/]+", "", emails.manage_url(subscription=subscription))
    failed = re.sub(r"^https?://[^/]+", "", emails.manage_url(subscription=disabled))

    page = client.get(pending)
    confirmed = client.post(pending, {"action": "confirm"}, follow=True)
    reenabled = client.post(failed, {"action": "reenable"}, follow=True)

    for shown in (page, confirmed):
        assert b"has retired Acme Cloud" in shown.content
        assert b"Confirm: post alerts" not in shown.content
    assert b"Send a test and re-enable" not in client.get(failed).content
    assert b"has retired Acme Cloud: nothing will be posted any more." in reenabled.content
    subscription.refresh_from_db()
    disabled.refresh_from_db()
    assert subscription.confirmed_at is None and disabled.disabled_at is not None
    deleted = client.post(pending, {"action": "delete", "confirm_delete": "yes"}, follow=True)
    assert b"/services/acme/" not in deleted.content and b"to that webhook" in deleted.content
    _no_link_leads_to_a_404(client, deleted)
