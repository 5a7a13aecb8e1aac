"""Subscribers' time zones (website, API, emails) and a subscriber who confirms during an
outage being told about it, once."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from alerts import services
from alerts.models import AlertDelivery, Subscription
from detection.models import OutageEvent

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s]+(/subscriptions/confirm/[^\s\"<>]+/)")


@pytest.fixture
def post_api(api_client, service, eager, django_capture_on_commit_callbacks):
    def post(body: dict):
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(
                "/api/v1/subscriptions/", data=json.dumps(body), content_type="application/json"
            )

    return post


def test_api_takes_a_time_zone(post_api):
    response = post_api({"email": "ann@example.com", "service": "acme", "timezone": "Asia/Tokyo"})
    assert response.status_code == 201, response.content
    assert response.json()["timezone"] == "Asia/Tokyo"
    assert Subscription.objects.get().timezone == "Asia/Tokyo"


def test_api_time_zone_defaults_to_utc(post_api):
    response = post_api({"email": "ann@example.com", "service": "acme"})
    # The answer echoes the request (none given) and never what an existing one holds.
    assert response.json()["timezone"] == "" and response.json()["notify_acknowledged"] is None
    assert Subscription.objects.get().timezone == "UTC"
    assert Subscription.objects.get().notify_acknowledged is False


def test_api_takes_back_the_empty_zone_it_answers(post_api):
    # "" is the schema's default and the answer's echo; sending it back was a 400 (API tester
    # F2, forty-fourth session).
    response = post_api({"email": "ann@example.com", "service": "acme", "timezone": ""})
    assert response.status_code == 201, response.content
    assert Subscription.objects.get().timezone == "UTC"


def test_a_webhook_url_with_a_password_is_refused_for_what_it_is(post_api):
    response = post_api(
        {
            "email": "ann@example.com",
            "service": "acme",
            "channel": "webhook",
            "url": "https://user:pw@hooks.example.com/x",
        }
    )
    assert response.status_code == 400, response.content
    assert response.json()["fields"]["url"] == [
        "A user name or password in the URL is not supported: put a secret in its path or "
        "query, or check the signature each request carries."
    ]


def _confirm_latest(mailoutbox, client):
    client.post(LINK.search(mailoutbox[-1].body).group(1))


def test_asking_again_for_other_countries_keeps_the_zone_and_choices_not_asked(
    post_api, client, mailoutbox, settings
):
    """A subscriber in Asia/Kolkata asking for other countries (no zone, no
    notify_acknowledged in the request) had both reset to UTC and off on confirming."""
    settings.SUBSCRIPTION_CONFIRM_RESEND_MINUTES = 0
    first = {"email": "carol@example.com", "service": "acme", "countries": ["IN"]}
    post_api({**first, "timezone": "Asia/Kolkata", "notify_acknowledged": True})
    _confirm_latest(mailoutbox, client)
    assert post_api({**first, "countries": ["IN", "LK"]}).status_code == 201
    _confirm_latest(mailoutbox, client)
    carol = Subscription.objects.get()
    assert carol.countries == ["IN", "LK"]
    assert (carol.timezone, carol.notify_acknowledged) == ("Asia/Kolkata", True)
    # Given, they change as before.
    post_api({**first, "timezone": "Europe/Berlin", "notify_acknowledged": False})
    _confirm_latest(mailoutbox, client)
    carol.refresh_from_db()
    assert (carol.timezone, carol.notify_acknowledged) == ("Europe/Berlin", False)


def test_web_form_without_a_known_zone_keeps_the_subscription_zone(
    post_api, client, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SUBSCRIPTION_CONFIRM_RESEND_MINUTES = 0
    post_api({"email": "ann@example.com", "service": "acme", "timezone": "Asia/Tokyo"})
    _confirm_latest(mailoutbox, client)
    # A change (countries), so that an email goes and its link is followed.
    form = {"email": "ann@example.com", "timezone": "Nowhere", "countries": "DE"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/services/acme/subscribe/", form)
    _confirm_latest(mailoutbox, client)
    assert len(mailoutbox) == 2
    assert Subscription.objects.get().timezone == "Asia/Tokyo"
    assert Subscription.objects.get().countries == ["DE"]


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "Europe/Berlin; DROP", "+01:00", "localtime", "Factory"]
)
def test_api_refuses_an_unknown_time_zone_and_changes_nothing(post_api, mailoutbox, zone):
    response = post_api({"email": "ann@example.com", "service": "acme", "timezone": zone})
    assert response.status_code == 400
    assert "timezone" in response.json()["fields"]
    assert "IANA" in " ".join(response.json()["fields"]["timezone"]) or zone == ""
    assert Subscription.objects.count() == 0 and mailoutbox == []


def test_web_form_carries_the_browser_time_zone(client, service, eager):
    client.post(
        "/services/acme/subscribe/",
        {"email": "ann@example.com", "countries": "", "timezone": "America/New_York"},
    )
    assert Subscription.objects.get().timezone == "America/New_York"


@pytest.mark.parametrize("zone", ["Nowhere/Land", "Europe/" + "x" * 100])
def test_web_form_falls_back_to_utc_for_a_zone_it_does_not_know(client, service, eager, zone):
    # A hidden field: even a value too long for any zone must not refuse the sign-up.
    response = client.post(
        "/services/acme/subscribe/", {"email": "ann@example.com", "timezone": zone}
    )
    assert response.status_code == 302
    assert Subscription.objects.get().timezone == "UTC"


def test_subscribe_form_has_the_hidden_time_zone_input(client, service):
    from django.template.loader import render_to_string

    html = render_to_string("alerts/_subscribe_form.html", {"service": service})
    assert re.search(r'<input type="hidden" name="timezone" value="" data-browser-timezone>', html)


def test_a_new_zone_for_a_confirmed_subscription_waits_for_its_link(service, client, mailoutbox):
    first = services.subscription_request(
        email="ann@example.com", service=service, countries=[], timezone_name="Europe/Berlin"
    )
    services.confirmation_delivery_send(confirmation_id=first.subscription.confirmations.get().pk)
    client.post(LINK.search(mailoutbox[0].body).group(1))
    assert Subscription.objects.get().timezone == "Europe/Berlin"
    later = timezone.now() + timedelta(hours=1)
    again = services.subscription_request(
        email="ann@example.com",
        service=service,
        countries=[],
        timezone_name="Asia/Tokyo",
        now=later,
    )
    assert Subscription.objects.get().timezone == "Europe/Berlin"
    confirmation = again.subscription.confirmations.latest("created_at")
    services.confirmation_delivery_send(confirmation_id=confirmation.pk, now=later)
    client.post(LINK.search(mailoutbox[-1].body).group(1))
    assert Subscription.objects.get().timezone == "Asia/Tokyo"


# --- Emails in the subscriber's zone ---------------------------------------------------------


def _sent_email(subscriber, outage, mailoutbox, zone: str, started: datetime, **kw):
    subscriber(timezone=zone)
    o = outage(["DE"], **kw)
    o.started_at, o.detected_at = started, started + timedelta(minutes=2)
    o.save()
    services.alerts_notify(outage=o, change="opened", now=started + timedelta(minutes=2))
    delivery = AlertDelivery.objects.get()
    services.alert_delivery_send(delivery_id=delivery.pk, now=started + timedelta(minutes=3))
    return mailoutbox[-1]


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Europe/Berlin", "14:26 (UTC+1)"),
        ("America/New_York", "08:26 (UTC-5)"),
        ("UTC", "13:26 UTC"),
    ],
)
def test_alert_email_shows_times_in_the_subscribers_zone(
    subscriber, outage, mailoutbox, zone, shown
):
    started = datetime(2026, 11, 27, 13, 26, tzinfo=UTC)
    message = _sent_email(subscriber, outage, mailoutbox, zone, started)
    assert message.subject == f"Acme Cloud: problems detected in Germany since {shown}"
    for body in (message.body, message.alternatives[0][0]):
        assert f"27 Nov {shown}" in body
        if zone != "UTC":
            assert "13:26" not in body  # no UTC time left behind


def test_resolved_email_states_the_outage_end_in_the_zone(subscriber, outage, mailoutbox):
    started = datetime(2026, 11, 27, 13, 26, tzinfo=UTC)
    _sent_email(subscriber, outage, mailoutbox, "Europe/Berlin", started)
    o = AlertDelivery.objects.get().outage
    o.status, o.resolved_at = o.Status.RESOLVED, started + timedelta(minutes=47)
    o.save()
    services.alerts_notify(outage=o, change="resolved", now=started + timedelta(hours=1))
    resolved = AlertDelivery.objects.get(kind=AlertDelivery.Kind.RESOLVED)
    services.alert_delivery_send(delivery_id=resolved.pk, now=started + timedelta(hours=1))
    message = mailoutbox[-1]
    assert "ended at 27 Nov 15:13 (UTC+1), after 47 min" in message.body
    # A deadline, not "within 30 minutes" (API tester F17); with no RESOLVED entry (only the
    # detector writes one), counted from the end.
    for body in (message.body, message.alternatives[0][0]):
        assert "If the problems return before 27 Nov 15:43 (UTC+1), we will tell you" in body
    assert message.subject == (
        "Resolved: Acme Cloud is working again after problems from 14:26 to 15:13 (UTC+1)"
    )


def test_resolved_email_gives_a_relapsed_outages_duration_as_its_page_does(
    subscriber, outage, mailoutbox
):
    # Explain tester F4: "after 27 min" in the email, "10 min (it stopped for 17 min in
    # between)" on the page, in the feed and in the API.
    from alerts import presentation as alert_words
    from detection import presentation

    started = datetime(2026, 11, 27, 13, 26, tzinfo=UTC)
    _sent_email(subscriber, outage, mailoutbox, "UTC", started)
    o = AlertDelivery.objects.get().outage
    o.status, o.resolved_at = o.Status.RESOLVED, started + timedelta(minutes=27)
    o.paused_minutes = 17
    o.save()
    services.alerts_notify(outage=o, change="resolved", now=started + timedelta(hours=1))
    resolved = AlertDelivery.objects.get(kind=AlertDelivery.Kind.RESOLVED)
    services.alert_delivery_send(delivery_id=resolved.pk, now=started + timedelta(hours=1))
    assert presentation.outage_duration(o) == "10 min (it stopped for 17 min in between)"
    assert "after 10 min (it stopped for 17 min in between)." in mailoutbox[-1].body
    # Webhooks, Slack and Discord say it in the notice's summary.
    text = alert_words.summary(kind="resolved", outage=o, now=started + timedelta(hours=1))
    assert "ended at 13:53 UTC, after 10 min (it stopped for 17 min in between)." in text


def test_resolved_email_gives_the_reopen_deadline_from_when_it_was_judged_over(
    subscriber, outage, mailoutbox
):
    """Problems back within OUTAGE_REOPEN_MINUTES of the resolution (the detector's own
    window, which the quiet minutes after the end precede) are told in the same thread."""
    started = datetime(2026, 11, 27, 13, 26, tzinfo=UTC)
    _sent_email(subscriber, outage, mailoutbox, "Europe/Berlin", started)
    o = AlertDelivery.objects.get().outage
    o.status, o.resolved_at = o.Status.RESOLVED, started + timedelta(minutes=47)
    o.save()
    judged = o.resolved_at + timedelta(minutes=15, seconds=3)
    OutageEvent.objects.create(outage=o, at=judged, kind=OutageEvent.Kind.RESOLVED, message="")
    services.alerts_notify(outage=o, change="resolved", now=judged)
    resolved = AlertDelivery.objects.get(kind=AlertDelivery.Kind.RESOLVED)
    services.alert_delivery_send(delivery_id=resolved.pk, now=judged)
    assert "If the problems return before 27 Nov 15:58 (UTC+1)" in mailoutbox[-1].body


# --- Confirming during an outage -------------------------------------------------------------


def _confirm(service, client, mailoutbox, countries=(), now=None):
    now = now or timezone.now()
    requested = services.subscription_request(
        email="bob@example.com", service=service, countries=list(countries), now=now
    )
    confirmation = requested.subscription.confirmations.latest("created_at")
    services.confirmation_delivery_send(confirmation_id=confirmation.pk, now=now)
    return client.post(LINK.search(mailoutbox[-1].body).group(1))


def test_confirming_during_an_outage_tells_about_it_on_the_page_and_by_one_email(
    service, client, outage, mailoutbox, eager, django_capture_on_commit_callbacks
):
    ongoing = outage(["DE"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _confirm(service, client, mailoutbox)
    page = response.content.decode()
    assert "Acme Cloud has problems right now" in page
    assert f'href="/outages/{ongoing.pk}/"' in page
    assert "Its alert email is on its way" in page
    alerts = [m for m in mailoutbox if "problems detected" in m.subject]
    assert len(alerts) == 1 and alerts[0].to == ["bob@example.com"]
    assert "At the peak: about 42 reports a minute" in alerts[0].body

    # The detector saying it again (a country joined) or a later re-confirmation: no second.
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_notify(outage=ongoing, change="country")
        subscription = Subscription.objects.get()
        services.subscription_unsubscribe(subscription=subscription)
        response = _confirm(service, client, mailoutbox, now=timezone.now() + timedelta(hours=1))
    assert "Acme Cloud has problems right now" in response.content.decode()
    assert len([m for m in mailoutbox if "problems detected" in m.subject]) == 1
    assert AlertDelivery.objects.count() == 1


def test_confirming_again_during_an_outage_whose_alert_was_skipped_sends_it(
    service, client, outage, mailoutbox, eager, django_capture_on_commit_callbacks
):
    # Unsubscribed before the alert went (skipped), then back during the same outage: the
    # page promises the alert, which an insert meeting the skipped row had never queued.
    ongoing = outage(["DE"])
    with django_capture_on_commit_callbacks(execute=True):
        _confirm(service, client, mailoutbox)
    delivery = AlertDelivery.objects.get()
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        status=AlertDelivery.Status.SKIPPED, last_error="Subscription no longer active."
    )
    mailoutbox.clear()
    services.subscription_unsubscribe(subscription=Subscription.objects.get())

    with django_capture_on_commit_callbacks(execute=True):
        response = _confirm(service, client, mailoutbox, now=timezone.now() + timedelta(hours=1))

    assert "Its alert email is on its way" in response.content.decode()
    alerts = [m for m in mailoutbox if "problems detected" in m.subject]
    assert len(alerts) == 1 and f"/outages/{ongoing.pk}/" in alerts[0].body
    delivery.refresh_from_db()
    assert delivery.status == AlertDelivery.Status.SENT and delivery.attempts == 1


def test_confirming_without_an_outage_or_outside_its_countries_sends_nothing(
    service, client, outage, mailoutbox, eager, django_capture_on_commit_callbacks
):
    outage(["FR"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _confirm(service, client, mailoutbox, countries=["DE"])
    assert "has problems right now" not in response.content.decode()
    assert AlertDelivery.objects.count() == 0
    assert not [m for m in mailoutbox if "problems detected" in m.subject]
