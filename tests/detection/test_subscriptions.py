"""Subscribing: validation, double opt-in, signed links, rate limits, no address probing."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core import signing
from django.template.loader import render_to_string
from django.utils import timezone

from detection.alerts import services, tokens
from detection.models import Subscription

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s\"<>]+/subscriptions/(confirm|unsubscribe)/[^\s\"<>]+/")


@pytest.fixture
def subscribe(api_client, service, eager, django_capture_on_commit_callbacks):
    def post(body: dict, address: str = "198.51.100.1"):
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(
                "/api/v1/subscriptions/",
                data=json.dumps(body),
                content_type="application/json",
                REMOTE_ADDR=address,
            )

    return post


def _link(message, kind: str) -> str:
    return next(m.group(0) for m in LINK.finditer(message.body) if m.group(1) == kind)


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_subscribe_sends_one_confirmation_and_nothing_is_active_yet(subscribe, mailoutbox):
    response = subscribe({"email": " Ann@Example.COM ", "service": "acme", "countries": ["de"]})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ann@example.com"
    assert (body["service"], body["countries"]) == ("acme", ["DE"])
    assert "confirmation" in body["message"]
    subscription = Subscription.objects.get()
    assert subscription.confirmed_at is None and subscription.confirmation_sent_at is not None
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ann@example.com"]
    assert "Confirm" in message.subject and "Acme Cloud" in message.subject
    assert "/subscriptions/confirm/" in message.body
    html = message.alternatives[0][0]
    assert "/subscriptions/confirm/" in html and "Unsubscribe" in html
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.extra_headers["List-Unsubscribe"] == f"<{_link(message, 'unsubscribe')}>"


def test_invalid_fields_are_all_reported_in_the_error_format(subscribe):
    response = subscribe(
        {"email": "not-an-address", "service": "nope", "countries": ["XX", "DE", 7], "x": 1}
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"email", "service", "countries", "x"}
    assert Subscription.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@example.com", "service": "acme", "countries": "DE"},
        {"email": "a@example.com", "service": "acme", "countries": ["ZZ"]},
        {"email": "a" * 250 + "@example.com", "service": "acme"},
        {"email": 42, "service": "acme"},
        {"service": "acme"},
    ],
)
def test_bad_input_is_refused(subscribe, body):
    assert subscribe(body).status_code == 400


def test_resubscribing_answers_the_same_and_sends_no_second_email(subscribe, mailoutbox):
    first = subscribe({"email": "ann@example.com", "service": "acme"})
    again = subscribe({"email": "ANN@example.com", "service": "acme"})

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Subscription.objects.count() == 1
    assert len(mailoutbox) == 1


def test_confirmation_emails_per_address_are_capped_per_day(
    subscribe, make_service, mailoutbox, settings
):
    settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY = 3
    for slug in ["s1", "s2", "s3", "s4", "s5"]:
        make_service(slug)
        # Different clients, so only the per-address limit applies.
        response = subscribe({"email": "victim@example.com", "service": slug}, f"192.0.2.{slug[1]}")
        assert response.status_code == 201
    assert len(mailoutbox) == 3
    assert Subscription.objects.count() == 5


def test_database_caps_confirmations_when_the_cache_forgets(service, make_service, settings):
    settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY = 2
    queued = []
    for slug in ["s1", "s2", "s3"]:
        from django.core.cache import cache

        cache.clear()  # as if Redis had restarted
        result = services.subscription_request(
            email="v@example.com", service=make_service(slug), countries=[]
        )
        queued.append(result.confirmation_queued)
    assert queued == [True, True, False]


def test_a_new_link_is_sent_after_the_resend_gap(service, settings):
    now = timezone.now()
    first = services.subscription_request(email="a@example.com", service=service, countries=[])
    soon = services.subscription_request(
        email="a@example.com", service=service, countries=[], now=now + timedelta(minutes=5)
    )
    later = services.subscription_request(
        email="a@example.com", service=service, countries=[], now=now + timedelta(minutes=20)
    )
    assert [first.confirmation_queued, soon.confirmation_queued, later.confirmation_queued] == [
        True,
        False,
        True,
    ]


def test_the_subscriptions_throttle_limits_each_client(subscribe, make_service, settings):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "subscriptions": "2/hour"}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        statuses = [
            subscribe({"email": f"u{i}@example.com", "service": "acme"}).status_code
            for i in range(3)
        ]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert statuses == [201, 201, 429]


def test_following_the_link_confirms_only_on_post(subscribe, client, mailoutbox):
    subscribe({"email": "ann@example.com", "service": "acme", "countries": ["DE", "AT"]})
    path = _path(_link(mailoutbox[0], "confirm"))

    page = client.get(path)
    assert page.status_code == 200 and b"Confirm alerts for Acme Cloud" in page.content
    assert Subscription.objects.get().confirmed_at is None  # link scanners only GET

    done = client.post(path)
    assert done.status_code == 200
    subscription = Subscription.objects.get()
    assert subscription.confirmed_at is not None
    assert subscription.countries == ["AT", "DE"]
    assert client.post(path).status_code == 200  # following it twice is harmless


def test_new_countries_for_a_confirmed_address_wait_for_its_owner(service, client):
    subscription = Subscription.objects.create(
        email="ann@example.com", service=service, countries=["DE"], confirmed_at=timezone.now()
    )
    services.subscription_request(email="ann@example.com", service=service, countries=["FR"])
    subscription.refresh_from_db()
    assert subscription.countries == ["DE"]

    token = tokens.confirm_token_make(subscription=subscription, countries=["FR"])
    client.post(f"/subscriptions/confirm/{token}/")
    subscription.refresh_from_db()
    assert subscription.countries == ["FR"] and subscription.confirmed_at is not None


def test_forged_expired_or_foreign_links_are_refused(service, client, settings):
    subscription = Subscription.objects.create(email="ann@example.com", service=service)
    good = tokens.confirm_token_make(subscription=subscription, countries=[])

    assert client.post(f"/subscriptions/confirm/{good}x/").status_code == 400
    forged = signing.dumps({"s": subscription.pk, "h": "0" * 20, "c": []}, salt="x")
    assert client.get(f"/subscriptions/unsubscribe/{forged}/").status_code == 400

    settings.SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS = -1  # every link is now too old
    assert client.post(f"/subscriptions/confirm/{good}/").status_code == 400

    unsubscribe = tokens.unsubscribe_token_make(subscription=subscription)
    Subscription.objects.filter(pk=subscription.pk).update(email="other@example.com")
    assert client.post(f"/subscriptions/unsubscribe/{unsubscribe}/").status_code == 400
    subscription.refresh_from_db()
    assert subscription.confirmed_at is None and subscription.unsubscribed_at is None


def test_one_click_unsubscribe_post_works_without_cookies(service):
    from django.test import Client

    subscription = Subscription.objects.create(
        email="ann@example.com", service=service, confirmed_at=timezone.now()
    )
    path = f"/subscriptions/unsubscribe/{tokens.unsubscribe_token_make(subscription=subscription)}/"
    strict = Client(enforce_csrf_checks=True)

    assert strict.get(path).status_code == 200
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is None

    response = strict.post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200 and b"unsubscribed" in response.content
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None


def test_resubscribing_after_unsubscribe_needs_a_new_confirmation(service):
    subscription = Subscription.objects.create(
        email="ann@example.com",
        service=service,
        confirmed_at=timezone.now(),
        unsubscribed_at=timezone.now(),
    )
    services.subscription_request(email="ann@example.com", service=service, countries=[])
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None

    services.subscription_confirm(subscription=subscription, countries=[])
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is None and subscription.confirmed_at is not None


def test_web_form_subscribes_and_says_check_your_inbox(
    client, service, eager, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/services/acme/subscribe/", {"email": "ann@example.com", "countries": "de, at"}
        )
    assert response.status_code == 302
    assert response["Location"] == "/services/acme/#subscribe"
    assert Subscription.objects.get().countries == ["AT", "DE"]
    assert len(mailoutbox) == 1


def test_web_form_shows_errors(client, service):
    response = client.post("/services/acme/subscribe/", {"email": "nope", "countries": "DE XX"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "valid email" in text and "XX" in text
    assert 'value="nope"' in text
    assert Subscription.objects.count() == 0
    assert client.get("/services/acme/subscribe/").status_code == 405
    assert client.post("/services/nope/subscribe/", {"email": "a@b.example"}).status_code == 404


def test_subscribe_snippet_posts_to_the_service(service):
    html = render_to_string("detection/_subscribe_form.html", {"service": service})
    assert 'action="/services/acme/subscribe/"' in html
    assert 'name="email"' in html and 'name="countries"' in html


def test_a_bouncing_confirmation_disables_the_address(service, mailoutbox, monkeypatch):
    import smtplib

    from django.core.mail import EmailMultiAlternatives

    def refuse(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({self.to[0]: (550, b"No such user")})

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    result = services.subscription_request(email="gone@example.com", service=service, countries=[])
    outcome = services.subscription_confirmation_send(
        subscription_id=result.subscription.pk,
        countries=[],
        requested_at=result.subscription.confirmation_sent_at,
    )
    assert outcome == "refused"
    assert Subscription.objects.get().disabled_at is not None


def test_confirmation_task_delivered_twice_sends_once(service, mailoutbox):
    result = services.subscription_request(email="a@example.com", service=service, countries=[])
    kwargs = {
        "subscription_id": result.subscription.pk,
        "countries": [],
        "requested_at": result.subscription.confirmation_sent_at,
    }
    assert services.subscription_confirmation_send(**kwargs) == "sent"
    assert services.subscription_confirmation_send(**kwargs) == "duplicate"
    assert len(mailoutbox) == 1
