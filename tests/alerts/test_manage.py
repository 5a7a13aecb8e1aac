"""Webhook, Slack and Discord channels without an account: the API's ``channel`` and
``url``, the owner's confirmation email with its management link, and the page behind it
(confirm, the secret shown once, a test message, recent deliveries, delete)."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.utils import timezone

from alerts import services
from alerts.models import AlertDelivery, Subscription
from tests.alerts.test_channels import verify

pytestmark = pytest.mark.django_db

MANAGE = re.compile(r"https?://[^\s\"<>]+(/subscriptions/manage/[^\s\"<>]+/)")


def _manage_path(message) -> str:
    return MANAGE.search(message.body).group(1)


def test_a_webhook_is_confirmed_and_managed_from_the_owners_email(
    subscribe, mailoutbox, client, receiver
):
    response = subscribe(
        {"email": "ops@example.com", "service": "acme", "channel": "webhook", "url": receiver.url}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["channel"], body["url"]) == ("webhook", receiver.url)
    assert "manage the webhook" in body["message"]
    subscription = Subscription.objects.get()
    assert subscription.confirmed_at is None and len(subscription.secret) == 64

    [message] = mailoutbox
    assert message.to == ["ops@example.com"]
    assert "post Acme Cloud outage alerts to your webhook (http://127.0.0.1:" in message.body
    assert "/hooks/outagewatch" not in message.body  # the URL's path may be a secret
    path = _manage_path(message)

    page = client.get(path)  # a link scanner's GET changes nothing
    assert page.status_code == 200 and b"Waiting for your confirmation" in page.content
    assert subscription.secret.encode() not in page.content
    assert Subscription.objects.get().confirmed_at is None

    confirmed = client.post(path, {"action": "confirm"}, follow=True)
    assert confirmed.status_code == 200
    assert subscription.secret.encode() in confirmed.content  # shown once...
    assert b"Active since" in confirmed.content
    again = client.get(path)
    assert subscription.secret.encode() not in again.content  # ...and never again
    assert Subscription.objects.get().confirmed_at is not None

    tested = client.post(path, {"action": "test"}, follow=True)
    assert b"your receiver accepted the test message" in tested.content
    [request] = receiver.received
    assert request.json()["event"] == "test"
    assert verify(
        secret=subscription.secret, headers=request.headers, body=request.body, now=request_time()
    )
    assert b"One test every" in client.post(path, {"action": "test"}, follow=True).content
    assert len(receiver.received) == 1
    # Each test is a message of its own to a receiver that drops repeated delivery keys.
    cache.delete(f"alerts:test:{subscription.pk}")  # the next test's turn
    tested = client.post(path, {"action": "test"}, follow=True)
    assert b"accepted the test message" in tested.content
    first, second = (r.headers["x-outagewatch-delivery"] for r in receiver.received)
    assert first.startswith("test-") and second.startswith("test-") and first != second
    # The body carries the same key (its delivery_id is 0 for every test: API tester F11).
    assert [r.json()["delivery"] for r in receiver.received] == [first, second]


@pytest.mark.parametrize(
    ("channel", "url", "noun"),
    [
        ("webhook", "https://hooks.example.com/ow", "webhook"),
        ("slack", "https://hooks.slack.com/services/T0/B0/x", "Slack channel"),
        ("discord", "https://discord.com/api/webhooks/1/x", "Discord channel"),
    ],
)
def test_sentences_name_the_channel_as_a_noun_not_the_forms_label(
    subscribe, mailoutbox, channel, url, noun
):
    """The choices' labels ("Webhook", "Slack") are for forms and headings; inside a sentence
    the answer and the email say "the webhook", "your Slack channel", as the newer emails do."""
    response = subscribe(
        {"email": "ops@example.com", "service": "acme", "channel": channel, "url": url}
    )
    assert response.status_code == 201, response.content
    assert f"a link to confirm and manage the {noun} is on its way" in response.json()["message"]
    [message] = mailoutbox
    for body in (message.body, message.alternatives[0][0]):
        assert f"outage alerts to your {noun} (" in body
        assert "Webhook" not in body


def request_time() -> float:
    return timezone.now().timestamp()


def test_the_page_lists_recent_deliveries_and_deletes_the_channel(
    subscriber, outage, client, receiver
):
    from alerts import emails

    sub = subscriber("ops@example.com", channel="webhook", url=receiver.url, secret="s" * 64)
    o = outage(["DE"])
    services.alerts_notify(outage=o, change="opened")
    services.alert_delivery_send(delivery_id=AlertDelivery.objects.get().pk)
    path = re.sub(r"^https?://[^/]+", "", emails.manage_url(subscription=sub))

    page = client.get(path)
    assert b"Outage detected" in page.content and f"#{o.pk}".encode() in page.content
    assert b"Sent" in page.content

    deleted = client.post(path, {"action": "delete", "confirm_delete": "yes"}, follow=True)
    assert deleted.status_code == 200 and b"Deleted" in deleted.content
    assert not Subscription.objects.exists() and not AlertDelivery.objects.exists()
    assert client.get(path).status_code == 400  # the link died with the channel


def test_a_new_secret_is_shown_once_and_replaces_the_old_one(subscriber, client):
    from alerts import emails

    sub = subscriber(
        "ops@example.com",
        channel="webhook",
        url="https://hooks.example.com/x",
        secret="a" * 64,
        secret_shown_at=timezone.now(),
    )
    path = re.sub(r"^https?://[^/]+", "", emails.manage_url(subscription=sub))
    rotated = client.post(path, {"action": "rotate"}, follow=True)
    sub.refresh_from_db()
    assert sub.secret != "a" * 64 and sub.secret.encode() in rotated.content
    # Deliveries are signed with the stored secret; the page never shows it again.
    assert sub.secret.encode() not in client.get(path).content


def test_a_forged_or_foreign_manage_link_is_refused(subscriber, client):
    from alerts import emails

    sub = subscriber("ops@example.com", channel="webhook", url="https://hooks.example.com/x")
    path = re.sub(r"^https?://[^/]+", "", emails.manage_url(subscription=sub))
    assert client.get(path[:-3] + "xx/").status_code == 400
    # Pointing the channel elsewhere kills the links mailed for the old URL.
    Subscription.objects.filter(pk=sub.pk).update(url="https://hooks.example.com/y")
    assert client.get(path).status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "webhook"}, "url"),
        ({"channel": "webhook", "url": "ftp://example.com/x"}, "url"),
        ({"channel": "webhook", "url": "http://10.0.0.5/hook"}, "url"),
        ({"channel": "webhook", "url": "http://localhost:8080/hook"}, "url"),
        # Loopback in the other forms a resolver takes, and host names that are no names.
        *(
            ({"channel": "webhook", "url": f"http://{host}/hook"}, "url")
            for host in (
                *("127.1", "2130706433", "0x7f000001", "0177.0.0.1", "10.1"),
                # As a resolver reads them: fullwidth or circled digits, a final dot.
                *("１２７.０.０.１", "①②⑦.0.0.1", "127.0.0.1.", "0x7f000001."),
                *("169.254.169.254.", "10.0.0.1."),
                *("localhost.", "foo.localhost.", "exa mple.com", "%00", "-", "a..b"),
                # Loopback behind 6to4 and NAT64 (the IPv4 address they stand for).
                *("[2002:7f00:1::]", "[64:ff9b::7f00:1]", "[64:ff9b::a00:1]"),
            )
        ),
        # Control characters: urlsplit drops tabs and line breaks, so what would be stored
        # is not what would be used.
        *(
            ({"channel": "webhook", "url": f"https://hooks.example.com/{tail}"}, "url")
            for tail in ("a\tb", "a\nb", "x\x00", "x\x7f", "\x1b[31m")
        ),
        ({"channel": "webhook", "url": "https://user:pw@example.com/hook"}, "url"),
        ({"channel": "slack", "url": "https://example.com/services/T0/B0/x"}, "url"),
        ({"channel": "discord", "url": "http://discord.com/api/webhooks/1/x"}, "url"),
        ({"channel": "email", "url": "https://example.com/hook"}, "url"),
        ({"channel": "sms"}, "channel"),
    ],
)
def test_bad_channels_are_refused(subscribe, body, field, settings):
    settings.ALERT_HTTP_ALLOW_LOOPBACK = False
    response = subscribe({"email": "ops@example.com", "service": "acme", **body})
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]


def test_a_url_is_stored_as_it_is_sent(subscribe, mailoutbox):
    # Percent-encoded like a browser sends it: the same receiver typed either way is one
    # channel (the second request finds the first's subscription).
    for url in (
        "https://hooks.example.com/grüße?t=ä b",
        "https://hooks.example.com/gr%C3%BC%C3%9Fe?t=%C3%A4%20b",
    ):
        body = {"email": "ops@example.com", "service": "acme", "channel": "webhook", "url": url}
        assert subscribe(body).status_code == 201
    [sub] = Subscription.objects.filter(channel="webhook")
    assert sub.url == "https://hooks.example.com/gr%C3%BC%C3%9Fe?t=%C3%A4%20b"


@pytest.mark.parametrize(
    ("channel", "url"),
    [
        ("slack", "https://hooks.slack.com/services/T000/B000/XXXX"),
        ("discord", "https://discord.com/api/webhooks/123/abc"),
        ("webhook", "https://hooks.example.com/outagewatch?team=7"),
    ],
)
def test_each_channel_is_its_own_subscription(subscribe, channel, url, mailoutbox):
    assert subscribe({"email": "ops@example.com", "service": "acme"}).status_code == 201
    response = subscribe(
        {"email": "ops@example.com", "service": "acme", "channel": channel, "url": url}
    )
    assert response.status_code == 201, response.content
    assert Subscription.objects.filter(channel=channel, url=url).count() == 1
    assert Subscription.objects.count() == 2
    secret = Subscription.objects.get(channel=channel).secret
    assert len(secret) == (64 if channel == "webhook" else 0)  # Slack's and Discord's URL is theirs
    assert "/subscriptions/manage/" in mailoutbox[-1].body


def test_the_schema_documents_channels_and_the_webhook_body(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/subscriptions/"]["post"]
    callback = operation["callbacks"]["outageEvent"]["{$request.body#/url}"]["post"]
    body = callback["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    event = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert {"event", "delivery_id", "service", "outage"} <= set(event["properties"])
    assert "X-OutageWatch-Signature" in callback["description"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][request.rsplit("/", 1)[1]]["properties"]
    assert {"channel", "url"} <= set(fields)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/x",
        "https://bücher.de/hook",  # a name in another script
        "https://xn--bcher-kva.de/hook",
        "https://cafe.de/x",  # hex letters only: still a name
        "https://example.com./x",
        "http://8.8.8.8:8080/x",
    ],
)
def test_good_webhook_urls_are_taken_as_given(url, settings):
    from alerts.validation import channel_url_clean

    settings.ALERT_HTTP_ALLOW_LOOPBACK = False
    assert channel_url_clean("webhook", url) == url


def test_signing_up_while_the_broker_is_down_succeeds_and_the_sweeper_sends_it(
    api_client, service, monkeypatch, caplog, django_capture_on_commit_callbacks, mailoutbox, eager
):
    # The rows are the outbox; the task is only a nudge. With the broker down the nudge
    # failed after the commit and the answer was a 500 (Django logs a failed hook by its
    # __qualname__, which the functools.partial it was given lacks).
    from kombu.exceptions import OperationalError

    from alerts import services
    from alerts.models import ConfirmationDelivery
    from alerts.tasks import confirmation_delivery_send_task

    def broker_down(**kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(confirmation_delivery_send_task, "delay", broker_down)
    body = {"email": "ann@example.com", "service": "acme"}
    with caplog.at_level("ERROR"), django_capture_on_commit_callbacks(execute=True) as hooks:
        response = api_client.post(
            "/api/v1/subscriptions/", data=json.dumps(body), content_type="application/json"
        )

    assert response.status_code == 201, response.content
    assert hooks and "confirmation_delivery_send" in caplog.text
    assert Subscription.objects.filter(email="ann@example.com").exists()
    pending = ConfirmationDelivery.objects.get()
    assert pending.status == AlertDelivery.Status.PENDING and not mailoutbox
    monkeypatch.undo()  # the broker is back
    assert services.alerts_sweep(now=pending.next_attempt_at).confirmations == [pending.pk]
    assert [m.to for m in mailoutbox] == [["ann@example.com"]]
