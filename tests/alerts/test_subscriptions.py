"""Subscribing: validation, double opt-in, signed single-use links, rate limits, no address
probing, the confirmation outbox (retries, sweeper) and the purge of unconfirmed sign-ups.

Clocks are pinned where the time matters: services get ``now=`` explicitly.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import timezone

from alerts import selectors, services, tokens
from alerts.models import ConfirmationDelivery, Subscription
from alerts.services import Outcome

pytestmark = pytest.mark.django_db

Status = ConfirmationDelivery.Status

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
        # Quoted local parts: the same mailbox as ann@ when sent, another to the daily cap.
        {"email": '"ann"@example.com', "service": "acme"},
        {"email": '"a\\nn"@example.com', "service": "acme"},
        {"email": '"a\x01nn"@example.com', "service": "acme"},
        # A server's address: one more daily cap per MX address (red-team tester F6).
        {"email": "victim@[192.0.2.25]", "service": "acme"},
    ],
)
def test_bad_input_is_refused(subscribe, body):
    response = subscribe(body)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["countries" if "countries" in body else "email"]
    assert Subscription.objects.count() == 0


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


def _request(service, email="a@example.com", countries=(), **kw):
    return services.subscription_request(
        email=email, service=service, countries=list(countries), **kw
    )


def _deliver(result, now) -> services.SendResult:
    confirmation = result.subscription.confirmations.latest("created_at")
    return services.confirmation_delivery_send(confirmation_id=confirmation.pk, now=now)


def test_an_email_that_cannot_be_sent_as_built_fails_instead_of_looping(service, mailoutbox):
    # A service name with a line break (stored before names were checked) made the subject a
    # BadHeaderError: the row stayed "sending", was taken over by every sweep and never
    # counted an attempt (text tester, forty-sixth session).
    from reports.models import Service

    Service.objects.filter(pk=service.pk).update(name="Two\nLines")
    service.refresh_from_db()
    now = timezone.now()
    result = _deliver(_request(service, now=now), now)
    assert result.outcome == Outcome.FAILED and "newlines" in result.reason
    row = ConfirmationDelivery.objects.get()
    assert row.status == ConfirmationDelivery.Status.FAILED and not mailoutbox


def test_a_new_link_is_sent_after_the_resend_gap(service, mailoutbox):
    now = timezone.now()
    first = _request(service, now=now)
    assert _deliver(first, now).outcome == Outcome.SENT
    soon = _request(service, now=now + timedelta(minutes=5))
    later = _request(service, now=now + timedelta(minutes=20))

    assert [first.confirmation_queued, soon.confirmation_queued, later.confirmation_queued] == [
        True,
        False,
        True,
    ]
    assert ConfirmationDelivery.objects.count() == 2


def test_other_countries_asked_within_the_resend_gap_get_a_link_of_their_own(service, mailoutbox):
    """Review (forty-third session): within the gap a request for other countries sent
    nothing, answered "on its way", and the only link confirmed the superseded choice."""
    now = timezone.now()
    first = _request(service, "ann@example.com", ["FR"], now=now)
    assert _deliver(first, now).outcome == Outcome.SENT
    again = _request(service, "ann@example.com", ["DE"], now=now + timedelta(minutes=5))
    assert again.confirmation_queued
    assert _deliver(again, now + timedelta(minutes=5)).outcome == Outcome.SENT
    link = ConfirmationDelivery.objects.latest("created_at")
    confirmed = services.subscription_confirm(confirmation=link, now=now + timedelta(minutes=6))
    assert confirmed.countries == ["DE"] and len(mailoutbox) == 2
    # The same choice again within the gap: the link mailed still works, nothing new goes.
    same = _request(service, "ann@example.com", ["DE"], now=now + timedelta(minutes=7))
    assert not same.confirmation_queued and ConfirmationDelivery.objects.count() == 2


def test_a_request_while_its_link_is_being_sent_with_other_countries_is_not_lost(
    service, mailoutbox
):
    """Review (forty-third session): asked again while the first email was being sent, the
    request updated nothing (the row was no longer pending), was answered "on its way", and
    only the first choice ever went."""
    now = timezone.now()
    first = _request(service, "ann@example.com", ["FR"], now=now)
    sending = ConfirmationDelivery.objects.get()
    ConfirmationDelivery.objects.filter(pk=sending.pk).update(status="sending", claimed_at=now)
    same = _request(service, "ann@example.com", ["FR"], now=now)
    assert same.confirmation_queued and ConfirmationDelivery.objects.count() == 1
    again = _request(service, "ann@example.com", ["DE"], now=now)
    assert again.confirmation_queued
    assert first.subscription.confirmations.filter(countries=["DE"], status="pending").exists()


def test_subscribing_again_right_after_unsubscribing_sends_a_new_link(service, mailoutbox):
    now = timezone.now()
    first = _request(service, now=now)
    assert _deliver(first, now).outcome == Outcome.SENT
    confirmed = services.subscription_confirm(
        confirmation=first.subscription.confirmations.get(), now=now + timedelta(minutes=1)
    )
    services.subscription_unsubscribe(subscription=confirmed, now=now + timedelta(minutes=2))

    again = _request(service, now=now + timedelta(minutes=3))

    assert again.confirmation_queued
    assert _deliver(again, now + timedelta(minutes=3)).outcome == Outcome.SENT
    assert len(mailoutbox) == 2


def test_the_subscriptions_throttle_limits_each_client(subscribe, make_service, settings):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "subscriptions": "2/hour"}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        # Mistakes are answered, and do not count: only valid sign-ups use the allowance.
        typos = [subscribe({"email": "u@example", "service": "acme"}).status_code for _ in "abc"]
        statuses = [
            subscribe({"email": f"u{i}@example.com", "service": "acme"}).status_code
            for i in range(3)
        ]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert typos == [400, 400, 400]
    assert statuses == [201, 201, 429]


def test_typing_mistakes_on_the_website_do_not_use_up_the_sign_ups(client, service):
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**SimpleRateThrottle.THROTTLE_RATES, "subscriptions": "2/hour"}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        typos = [
            client.post("/services/acme/subscribe/", {"email": "ann@example"}).status_code
            for _ in range(3)
        ]
        signups = [
            client.post("/services/acme/subscribe/", {"email": f"u{i}@example.com"}).status_code
            for i in range(3)
        ]
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert typos == [400, 400, 400]
    assert signups == [302, 302, 429]
    assert Subscription.objects.count() == 2


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
    # Single use: a replay changes nothing and says the address is subscribed already.
    Subscription.objects.filter(pk=subscription.pk).update(countries=["FR"])
    for replay in (client.post(path), client.get(path)):
        assert replay.status_code == 200 and b"You already get Acme Cloud alerts" in replay.content
    assert Subscription.objects.get().countries == ["FR"]


def test_new_countries_for_a_confirmed_address_wait_for_its_owner(service, client):
    subscription = Subscription.objects.create(
        email="ann@example.com", service=service, countries=["DE"], confirmed_at=timezone.now()
    )
    _request(service, "ann@example.com", ["FR"])
    subscription.refresh_from_db()
    assert subscription.countries == ["DE"]

    token = tokens.confirm_token_make(confirmation=subscription.confirmations.get())
    client.post(f"/subscriptions/confirm/{token}/")
    subscription.refresh_from_db()
    assert subscription.countries == ["FR"] and subscription.confirmed_at is not None


def test_forged_expired_or_foreign_links_are_refused(service, client, settings):
    subscription = _request(service, "ann@example.com").subscription
    good = tokens.confirm_token_make(confirmation=subscription.confirmations.get())

    assert client.post(f"/subscriptions/confirm/{good}x/").status_code == 400
    forged = signing.dumps({"s": subscription.pk, "h": "0" * 20}, salt="x")
    assert client.get(f"/subscriptions/unsubscribe/{forged}/").status_code == 400
    # A real signature on another subscription's confirmation row is still refused.
    other = _request(service, "bob@example.com").subscription.confirmations.get()
    payload = signing.loads(good, salt="outagewatch.alerts.confirm")
    mixed = signing.dumps({**payload, "d": other.pk}, salt="outagewatch.alerts.confirm")
    assert client.post(f"/subscriptions/confirm/{mixed}/").status_code == 400

    settings.SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS = -1  # every link is now too old
    assert client.post(f"/subscriptions/confirm/{good}/").status_code == 400

    unsubscribe = tokens.unsubscribe_token_make(subscription=subscription)
    Subscription.objects.filter(pk=subscription.pk).update(email="other@example.com")
    assert client.post(f"/subscriptions/unsubscribe/{unsubscribe}/").status_code == 400
    subscription.refresh_from_db()
    assert subscription.confirmed_at is None and subscription.unsubscribed_at is None


def test_a_link_expires_with_its_request_even_if_it_left_late(service):
    now = timezone.now()
    result = _request(service, now=now - timedelta(days=7, minutes=1))
    token = tokens.confirm_token_make(confirmation=result.subscription.confirmations.get())
    with pytest.raises(tokens.InvalidToken):
        tokens.confirm_token_read(token, now=now)
    assert tokens.confirm_token_read(token, now=now - timedelta(days=1)).countries == []


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


def test_resubscribing_after_unsubscribe_needs_a_new_confirmation(service, mailoutbox):
    subscription = Subscription.objects.create(
        email="ann@example.com",
        service=service,
        confirmed_at=timezone.now(),
        unsubscribed_at=timezone.now(),
    )
    _request(service, "ann@example.com")
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is not None

    services.subscription_confirm(confirmation=subscription.confirmations.get())
    subscription.refresh_from_db()
    assert subscription.unsubscribed_at is None and subscription.confirmed_at is not None


def test_a_confirm_link_is_dead_after_unsubscribing(service, client, mailoutbox):
    now = timezone.now()
    result = _request(service, "ann@example.com", ["DE"], now=now)
    _deliver(result, now)
    path = _path(_link(mailoutbox[0], "confirm"))
    unsubscribe = _path(_link(mailoutbox[0], "unsubscribe"))
    assert client.post(path).status_code == 200

    assert client.post(unsubscribe).status_code == 200
    assert client.post(path).status_code == 400  # the replay that used to resubscribe

    subscription = Subscription.objects.get()
    assert subscription.unsubscribed_at is not None


def test_an_unused_link_dies_with_the_unsubscribe_and_a_queued_one_is_not_sent(
    service, client, mailoutbox
):
    now = timezone.now()
    result = _request(service, "ann@example.com", now=now)
    _deliver(result, now)
    path = _path(_link(mailoutbox[0], "confirm"))
    services.subscription_unsubscribe(subscription=result.subscription, now=now)
    assert client.post(path).status_code == 400
    assert Subscription.objects.get().confirmed_at is None

    # A new request after the gap: queued, then unsubscribed before SMTP took it.
    later = now + timedelta(hours=1)
    again = _request(service, "ann@example.com", now=later)
    services.subscription_unsubscribe(subscription=again.subscription, now=later)
    assert _deliver(again, later).outcome == Outcome.NOT_CLAIMED
    assert len(mailoutbox) == 1
    assert set(ConfirmationDelivery.objects.values_list("status", flat=True)) == {
        Status.SENT,
        Status.SKIPPED,
    }


def test_confirming_uses_up_the_other_links_of_the_subscription(service, client, mailoutbox):
    now = timezone.now()
    first = _request(service, "ann@example.com", ["DE"], now=now)
    _deliver(first, now)
    second = _request(service, "ann@example.com", ["FR"], now=now + timedelta(hours=1))
    _deliver(second, now + timedelta(hours=1))
    old_link, new_link = (_path(_link(m, "confirm")) for m in mailoutbox)

    assert client.post(new_link).status_code == 200
    assert b"You already get" in client.post(old_link).content  # used up: changes nothing
    assert Subscription.objects.get().countries == ["FR"]


def test_links_read_at_once_apply_once_and_an_older_one_cannot_replace_the_newer_choice(
    service, mailoutbox
):
    # Two POSTs at once (two tabs, a mail scanner and the person) both pass the token check
    # before either uses its link: the service's claim of `used_at` is what applies only the
    # first. Without it, both applied and the older link's countries won; no test noticed
    # (mutation tester, forty-sixth session).
    now = timezone.now()
    first = _request(service, "ann@example.com", ["FR"], now=now)
    assert _deliver(first, now).outcome == Outcome.SENT
    again = _request(service, "ann@example.com", ["DE"], now=now + timedelta(minutes=5))
    assert _deliver(again, now + timedelta(minutes=5)).outcome == Outcome.SENT
    older, newer = ConfirmationDelivery.objects.order_by("created_at")  # both read, unused
    assert (older.countries, newer.countries) == (["FR"], ["DE"])

    at = now + timedelta(minutes=6)
    confirmed = services.subscription_confirm(confirmation=newer, now=at)
    assert confirmed is not None and confirmed.countries == ["DE"]
    assert services.subscription_confirm(confirmation=newer, now=at) is None
    assert services.subscription_confirm(confirmation=older, now=at) is None
    assert Subscription.objects.get().countries == ["DE"]


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
    assert client.post("/services/nope/subscribe/", {"email": "a@b.example"}).status_code == 404


def test_subscribe_snippet_posts_to_the_service(service):
    html = render_to_string("alerts/_subscribe_form.html", {"service": service})
    assert 'action="/services/acme/subscribe/"' in html
    assert 'name="email"' in html and 'name="countries"' in html


def _smtp_failing(monkeypatch, exc: BaseException) -> None:
    import smtplib  # noqa: F401  (the parametrised errors)

    from django.core.mail import EmailMultiAlternatives

    def send(self, fail_silently=False):
        raise exc

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)


def test_a_bouncing_confirmation_disables_the_address(service, mailoutbox, monkeypatch):
    import smtplib

    now = timezone.now()
    _smtp_failing(
        monkeypatch,
        smtplib.SMTPRecipientsRefused({"gone@example.com": (550, b"5.1.1 No such user")}),
    )
    result = _request(service, "gone@example.com", now=now)
    assert _deliver(result, now).outcome == Outcome.FAILED
    assert Subscription.objects.get().disabled_at is not None
    assert ConfirmationDelivery.objects.get().status == Status.FAILED


def test_a_confirmation_refused_by_the_relay_keeps_the_confirmed_subscription(
    service, subscriber, monkeypatch
):
    # A second sign-up of a working address, its email refused by the relay's policy: the
    # message is retried, the confirmed subscription stays (it used to be disabled).
    import smtplib

    now = timezone.now()
    working = subscriber("ann@example.com")
    _smtp_failing(
        monkeypatch,
        smtplib.SMTPRecipientsRefused({"ann@example.com": (554, b"5.7.1 Relay access denied")}),
    )
    result = _request(service, "ann@example.com", ["DE"], now=now)  # a change: an email
    assert _deliver(result, now).outcome == Outcome.RETRY
    working.refresh_from_db()
    assert working.disabled_at is None


def test_confirmation_task_delivered_twice_sends_once(service, mailoutbox, eager):
    from alerts.tasks import confirmation_delivery_send_task

    result = _request(service)
    confirmation = result.subscription.confirmations.get()
    kwargs = {"confirmation_id": confirmation.pk}
    assert confirmation_delivery_send_task.apply(kwargs=kwargs).get() == "sent"
    assert confirmation_delivery_send_task.apply(kwargs=kwargs).get() == "not_claimed"
    assert len(mailoutbox) == 1


def test_the_confirmation_row_commits_with_the_request_and_is_queued_after(
    service, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        _request(service)
    assert len(callbacks) == 1
    assert ConfirmationDelivery.objects.get().status == Status.PENDING

    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _request(service, "b@example.com")
        raise RuntimeError("the request failed")
    assert callbacks == [] and ConfirmationDelivery.objects.count() == 1


def test_a_confirmation_waiting_for_smtp_is_retried_by_the_sweeper(
    service, mailoutbox, monkeypatch, settings, eager
):
    import smtplib

    settings.ALERT_RETRY_BACKOFF_SECONDS = 30
    # In the past: the eager task that the sweep queues runs on the real clock. On a whole
    # second: retries come due on the second.
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=10)
    result = _request(service, "ann@example.com", ["DE"], now=now)
    with monkeypatch.context() as patch:
        _smtp_failing(patch, smtplib.SMTPServerDisconnected("down"))
        assert _deliver(result, now).outcome == Outcome.RETRY
    confirmation = ConfirmationDelivery.objects.get()
    assert (confirmation.status, confirmation.attempts) == (Status.PENDING, 1)
    assert confirmation.next_attempt_at == now + timedelta(seconds=30)

    assert services.alerts_sweep(now=now + timedelta(seconds=29)).confirmations == []
    swept = services.alerts_sweep(now=now + timedelta(seconds=30))

    assert swept.confirmations == [confirmation.pk]
    [message] = mailoutbox
    assert message.to == ["ann@example.com"] and "/subscriptions/confirm/" in message.body
    confirmation.refresh_from_db()
    assert (confirmation.status, confirmation.attempts) == (Status.SENT, 2)


def test_confirmation_retries_stop_at_the_maximum(service, monkeypatch, settings):
    settings.ALERT_MAX_ATTEMPTS = 3
    now = timezone.now()
    result = _request(service, now=now)
    _smtp_failing(monkeypatch, ConnectionRefusedError(111, "refused"))

    outcomes = [_deliver(result, now + timedelta(hours=k)).outcome for k in range(4)]

    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED, Outcome.NOT_CLAIMED]
    assert "Gave up after 3 attempts" in ConfirmationDelivery.objects.get().last_error
    assert selectors.confirmations_due(now=now + timedelta(days=1)) == []


def test_the_resend_gap_does_not_block_when_the_last_confirmation_never_left(
    service, mailoutbox, monkeypatch, settings
):
    settings.ALERT_MAX_ATTEMPTS = 2
    now = timezone.now()
    first = _request(service, "ann@example.com", ["DE"], now=now)
    with monkeypatch.context() as patch:
        _smtp_failing(patch, ConnectionRefusedError(111, "refused"))
        assert _deliver(first, now).outcome == Outcome.RETRY

    # Asked again while it waits for SMTP: the waiting email goes out now, with the new
    # countries, instead of the request being refused or a second email queued.
    again = _request(service, "ann@example.com", ["FR"], now=now + timedelta(minutes=1))
    assert again.confirmation_queued
    waiting = ConfirmationDelivery.objects.get()
    assert waiting.countries == ["FR"] and waiting.next_attempt_at == now + timedelta(minutes=1)

    # It fails for good: a new request inside the gap gets a new email all the same.
    with monkeypatch.context() as patch:
        _smtp_failing(patch, ConnectionRefusedError(111, "refused"))
        assert _deliver(again, now + timedelta(minutes=1)).outcome == Outcome.FAILED
    third = _request(service, "ann@example.com", ["FR"], now=now + timedelta(minutes=2))
    assert third.confirmation_queued
    assert _deliver(third, now + timedelta(minutes=2)).outcome == Outcome.SENT
    assert len(mailoutbox) == 1 and ConfirmationDelivery.objects.count() == 2


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Ann@Example.com", "ann@example.com"),
        ("ann+alerts@example.com", "ann@example.com"),
        ("ann+a+b@example.com", "ann@example.com"),
        ("a.n.n@example.com", "a.n.n@example.com"),  # dots matter outside Gmail
        ("A.n.N+x@gmail.com", "ann@gmail.com"),
        ("ann@googlemail.com", "ann@gmail.com"),
    ],
)
def test_addresses_are_normalised_for_the_cap(typed, key):
    assert services.email_rate_key(typed) == key


def test_plus_and_dot_variants_share_the_per_address_cap(
    subscribe, make_service, mailoutbox, settings
):
    settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY = 3
    variants = [
        "victim@gmail.com",
        "victim+1@gmail.com",
        "v.ictim@gmail.com",
        "vic.tim+x@googlemail.com",
        "VICTIM+2@gmail.com",
    ]
    for k, address in enumerate(variants):
        make_service(f"s{k}")
        response = subscribe({"email": address, "service": f"s{k}"}, f"192.0.2.{k + 1}")
        assert response.status_code == 201
    assert len(mailoutbox) == 3
    # Sent to the address as typed; only the cap uses the normalised form.
    assert [m.to[0] for m in mailoutbox] == variants[:3]


def test_lookalike_domains_are_the_mailbox_they_reach_and_share_its_cap(
    subscribe, make_service, mailoutbox, settings
):
    """Sending folds a domain's fullwidth letters and drops soft hyphens and zero-width
    characters (IDNA): each spelling reached victim@example.com, and each had its own cap."""
    settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY = 3
    variants = [
        "victim@example.com",
        "victim@examplｅ.com",
        "victim@ｅxample.com",
        "victim@exa\u00admple.com",
        "victim@ex\u00ada\u00admple.com",
        "victim@exam\u200bple.com",
    ]
    for k, address in enumerate(variants):
        make_service(f"s{k}")
        response = subscribe({"email": address, "service": f"s{k}"}, f"192.0.2.{k + 1}")
        assert response.status_code == 201
    assert len(mailoutbox) == 3
    assert {m.to[0] for m in mailoutbox} == {"victim@example.com"}
    assert set(Subscription.objects.values_list("email", flat=True)) == {"victim@example.com"}


@pytest.mark.parametrize(
    "address",
    [
        "=?utf-8?q?v=69ctim?=@example.com",
        "=?iso-8859-1?q?victim?=@example.com",
        "=?utf-8?q?a=0d=0abcc=3a_evil=40attacker.test?=@example.com",
        "=?utf-8?b?PHNjcmlwdD4=?=@example.com",
        # A domain ending in a dot ("。" from a CJK input method): sending refuses it.
        "victim@example.com\u3002",
    ],
)
def test_addresses_mail_would_decode_or_refuse_are_refused(subscribe, mailoutbox, address):
    """An encoded word was decoded at sending (RCPT TO:<victim@example.com>), so each of its
    endless spellings had a confirmation cap of its own; an address sending refuses was a 201
    and a confirmation that never came (security tester F1, F4)."""
    response = subscribe({"email": address, "service": "acme"})
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["email"]
    assert not Subscription.objects.exists() and not mailoutbox


def test_an_international_domain_is_kept_in_its_own_letters():
    from alerts.validation import email_clean

    assert email_clean("Ann@München.DE") == "ann@münchen.de"
    with pytest.raises(ValidationError):
        email_clean("ann@" + "a" * 64 + ".example")  # a label longer than DNS allows


def test_a_domain_that_idna_2003_would_fold_is_mailed_at_its_own_domain(
    subscribe, make_service, mailoutbox, settings
):
    """Python's codec (IDNA 2003) mailed ann@straße.de at strasse.de, someone else's domain
    (text tester, forty-sixth session): IDNA 2008 keeps ß and the final sigma."""
    settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY = 5
    sent = {"ann@straße.de": "ann@xn--strae-oqa.de", "ann@σόλος.gr": "ann@xn--wxaijb9b.gr"}
    for k, address in enumerate(sent):
        make_service(f"s{k}")
        response = subscribe({"email": address, "service": f"s{k}"}, f"192.0.2.{k + 1}")
        assert response.status_code == 201 and response.json()["email"] == address
    assert [m.recipients() for m in mailoutbox] == [[ascii_] for ascii_ in sent.values()]
    assert set(Subscription.objects.values_list("email", flat=True)) == set(sent)
    # Its A-label is the same address, with the same cap.
    from alerts.validation import email_clean

    assert email_clean("ann@xn--strae-oqa.de") == "ann@straße.de"


def test_the_database_cap_uses_the_normalised_address(service, make_service, settings):
    from django.core.cache import cache

    settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY = 2
    queued = []
    for k, address in enumerate(["ann@gmail.com", "a.nn@gmail.com", "ann+z@gmail.com"]):
        cache.clear()  # as if Redis had restarted
        queued.append(_request(make_service(f"s{k}"), address).confirmation_queued)
    assert queued == [True, True, False]


def test_unconfirmed_subscriptions_are_purged_after_the_max_age(service, make_service, settings):
    settings.SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS = 7
    now = timezone.now()
    old = _request(service, "old@example.com", now=now - timedelta(days=8)).subscription
    fresh = _request(service, "fresh@example.com", now=now - timedelta(days=6)).subscription
    never_mailed = Subscription.objects.create(email="quiet@example.com", service=service)
    Subscription.objects.filter(pk=never_mailed.pk).update(created_at=now - timedelta(days=8))
    confirmed = _request(service, "yes@example.com", now=now - timedelta(days=30)).subscription
    Subscription.objects.filter(pk=confirmed.pk).update(confirmed_at=now - timedelta(days=29))

    purged = services.subscriptions_purge(now=now)

    assert purged.subscriptions == 2
    assert set(Subscription.objects.values_list("pk", flat=True)) == {fresh.pk, confirmed.pk}
    assert not ConfirmationDelivery.objects.filter(subscription_id=old.pk).exists()
    # The confirmed subscription's month-old confirmation row is past any use too.
    assert not ConfirmationDelivery.objects.filter(subscription_id=confirmed.pk).exists()
    assert services.subscriptions_purge(now=now).subscriptions == 0


def test_the_purge_and_the_sweep_are_scheduled(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "alerts.tasks.subscriptions_purge" in tasks
    assert "alerts.tasks.alerts_sweep" in tasks


def test_a_country_given_twice_counts_once_toward_the_limit():
    from django.core.exceptions import ValidationError

    from alerts.validation import MAX_COUNTRIES, countries_clean

    assert countries_clean(["DE"] * (MAX_COUNTRIES + 10) + ["de ", "AT"]) == ["AT", "DE"]
    with pytest.raises(ValidationError, match=f"At most {MAX_COUNTRIES} countries"):
        countries_clean([f"Q{i}" for i in range(MAX_COUNTRIES + 1)])


def test_a_confirmation_says_it_was_only_asked_for_and_has_an_id_on_the_site(
    service, mailoutbox, settings
):
    """Before anyone confirmed: "this address subscribed" misled the owner of an address
    someone else typed. Its Message-ID named the host ("@localhost" in a container)."""
    from alerts.emails import _message

    settings.SITE_URL = "https://ow.example"
    now = timezone.now()
    result = _request(service, "ann@example.com", now=now)
    assert _deliver(result, now).outcome == Outcome.SENT
    [message] = mailoutbox
    for body in (message.body, message.alternatives[0][0]):
        assert f"someone asked for {service.name} alerts for this address" in body
        assert "this address subscribed" not in body
    assert re.fullmatch(
        r"<confirm-\d+\.[0-9a-f]{12}@ow\.example>", message.extra_headers["Message-ID"]
    )
    # Any other email keeps saying why it comes, with an id on the site's domain.
    other = _message(
        subscription=result.subscription, subject="x", template="subscription_confirm",
        context={"service": service},
    )  # fmt: skip
    assert f"this address subscribed to {service.name} alerts" in other.body
    assert re.fullmatch(r"<[^@>]+@ow\.example>", other.extra_headers["Message-ID"])


def test_the_footer_says_how_many_such_emails_may_still_come(service, mailoutbox, settings):
    """The footer said "nothing is sent without the link": untrue, as anyone typing the
    address gets it the daily cap of confirmations and the list of the requests beyond it."""
    settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY = 3
    now = timezone.now()
    for channel, url in (("email", ""), ("webhook", "https://hooks.example.com/ow")):
        result = _request(service, "ann@example.com", now=now, channel=channel, url=url)
        assert _deliver(result, now).outcome == Outcome.SENT
    assert len(mailoutbox) == 2
    for message in mailoutbox:
        for body in (message.body, message.alternatives[0][0]):
            assert (
                "we send no alerts unless the link is followed, and at most 4 emails like "
                "this one a day to this address." in body
            )
            assert "nothing is sent without" not in body and "will not write again" not in body


def test_expired_sessions_are_purged_nightly(settings, db):
    # Nothing deleted them: every manage-page action left a row, with a webhook's secret
    # (soak tester, forty-sixth session).
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    from outagewatch.tasks import sessions_purge_task

    assert "outagewatch.tasks.sessions_purge" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    for expiry in (-60, 3600):
        store = SessionStore()
        store["alerts:secret:1"] = "whsec_x"
        store.set_expiry(expiry)
        store.save()
    sessions_purge_task()
    assert Session.objects.count() == 1
