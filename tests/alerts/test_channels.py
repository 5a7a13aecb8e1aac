"""Webhook, Slack and Discord channels against a real HTTP receiver on loopback.

Clocks are pinned where retries matter: every call that depends on the time gets ``now=``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import ipaddress
import re
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from django.utils import timezone

from alerts import channels, presentation, selectors, services
from alerts.channels import http
from alerts.channels.http import Answer as HTTPAnswer
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from alerts.services import Outcome
from alerts.tasks import alert_delivery_send_task
from detection.models import Outage
from tests.alerts.receiver import Answer, Receiver
from tests.conftest import free_port

pytestmark = pytest.mark.django_db

Kind = AlertDelivery.Kind
Status = AlertDelivery.Status
SECRET = "9f2c" * 16


def verify(*, secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """The verification recipe of README.md ("Verifying webhooks"), as a receiver runs it."""
    timestamp = headers["x-outagewatch-timestamp"]
    if abs(now - int(timestamp)) > 300:  # older than 5 minutes: a replay
        return False
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    expected = ("v1=" + mac.hexdigest()).encode()
    listed = headers["x-outagewatch-signature"].split(",")  # two values after a rotation
    return any(hmac.compare_digest(value.strip().encode(), expected) for value in listed)


@pytest.fixture
def hook(subscriber, receiver):
    def make(channel: str = "webhook", url: str | None = None, **kw) -> Subscription:
        return subscriber(
            "owner@example.com", channel=channel, url=url or receiver.url, secret=SECRET, **kw
        )

    return make


def _deliver(outage, change=Kind.OPENED, now: datetime | None = None) -> services.SendResult:
    services.alerts_notify(outage=outage, change=change, now=now)
    delivery = AlertDelivery.objects.filter(kind=change).latest("pk")
    return services.alert_delivery_send(delivery_id=delivery.pk, now=now)


def test_a_webhook_gets_a_signed_json_body_that_verifies(hook, outage, receiver, settings):
    settings.SITE_URL = "https://ow.example"
    hook()
    o = outage(["DE", "FR"])

    assert _deliver(o).outcome == Outcome.SENT

    [request] = receiver.received
    assert request.path == "/hooks/outagewatch"
    assert request.headers["content-type"] == "application/json"
    assert verify(secret=SECRET, headers=request.headers, body=request.body, now=time.time())
    assert not verify(secret="wrong", headers=request.headers, body=request.body, now=time.time())
    assert not verify(
        secret=SECRET, headers=request.headers, body=request.body + b" ", now=time.time()
    )
    # An old request replayed later is refused by its timestamp.
    assert not verify(
        secret=SECRET, headers=request.headers, body=request.body, now=time.time() + 3600
    )
    body = request.json()
    delivery = AlertDelivery.objects.get()
    assert request.headers["x-outagewatch-delivery"] == str(delivery.pk)
    assert request.headers["x-outagewatch-event"] == "opened"
    assert body["event"] == "opened" and body["delivery_id"] == delivery.pk
    assert body["delivery"] == str(delivery.pk)  # the header's key, in the signed body
    assert body["service"] == {
        "slug": "acme",
        "name": "Acme Cloud",
        "url": "https://ow.example/services/acme/",
    }
    assert body["outage"]["id"] == o.pk and body["outage"]["countries"] == ["DE", "FR"]
    assert body["outage"]["observed"] == 42 and body["outage"]["expected"] == 3.2
    assert body["outage"]["url"] == f"https://ow.example/outages/{o.pk}/"
    assert body["outage"]["top_problems"][0] == {"problem": "login", "name": "Login", "count": 40}
    assert body["title"].startswith("Acme Cloud: problems detected in Germany and France")
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)


def test_the_webhook_body_has_the_fields_its_schema_documents(api_client, hook, outage, receiver):
    """The schema (the outageEvent callback) is what integrators generate code from: a field
    sent and not documented, or documented and never sent, is a broken promise."""
    hook()
    _deliver(outage(["DE"]))
    body = receiver.received[0].json()
    schema = api_client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]

    def properties(ref_holder: dict) -> set[str]:
        ref = ref_holder.get("$ref") or next(r["$ref"] for r in ref_holder["allOf"])
        return set(components[ref.rsplit("/", 1)[1]]["properties"])

    post = schema["paths"]["/api/v1/subscriptions/"]["post"]
    callback = post["callbacks"]["outageEvent"]["{$request.body#/url}"]["post"]
    event = callback["requestBody"]["content"]["application/json"]["schema"]
    documented = properties(event)
    # upstream: only for `upstream` events; missed_opened: only for `resolved` ones.
    assert set(body) == documented - {"upstream", "missed_opened"}
    event_props = components[event["$ref"].rsplit("/", 1)[1]]["properties"]
    assert set(body["outage"]) == properties(event_props["outage"])


def test_the_webhook_explains_in_the_words_and_figures_of_the_api(hook, outage, receiver, midday):
    # It carried the detector's own note (ISO codes, problem slugs, rule names, UTC) and
    # figures to 16 digits, where every other surface says it in words.
    hook(timezone="America/New_York")
    o = outage(["DE", "FR"], peak_expected=1.022603769480707, score=0.8784657095547572)
    _deliver(o)
    body = receiver.received[0].json()["outage"]
    assert (body["expected"], body["score"]) == (1.02, 0.878)
    explanation = body["explanation"]
    assert explanation.startswith("Problems since ") and "(UTC-5)" in explanation
    assert "Most reports from Germany and France." in explanation
    assert "Most reported problems: Login (40)" in explanation
    assert "rule" not in explanation and "42 reports a minute where" not in explanation


def test_the_same_outage_keeps_its_id_through_reopen_and_resolve(hook, outage, receiver):
    hook()
    o = outage()
    _deliver(o)
    o.status, o.resolved_at = "resolved", timezone.now()
    o.save()
    _deliver(o, Kind.RESOLVED)

    opened, resolved = (r.json() for r in receiver.received)
    assert opened["outage"]["id"] == resolved["outage"]["id"] == o.pk
    assert opened["outage"]["resolved_at"] is None
    ended = datetime.fromisoformat(resolved["outage"]["resolved_at"].replace("Z", "+00:00"))
    assert ended == o.resolved_at
    assert (resolved["event"], resolved["outage"]["status"]) == ("resolved", "resolved")


def test_a_5xx_is_retried_with_backoff_and_the_sweeper_sends_it(hook, outage, receiver, settings):
    settings.ALERT_RETRY_BACKOFF_SECONDS = 30
    hook()
    receiver.answer(Answer(503, b"busy"))
    now = timezone.now()

    result = _deliver(outage(), now=now)

    assert result.outcome == Outcome.RETRY and result.delay == 30
    delivery = AlertDelivery.objects.get()
    assert delivery.status == Status.PENDING and "HTTP 503" in delivery.last_error
    assert selectors.deliveries_due(now=now + timedelta(seconds=29)) == []
    assert selectors.deliveries_due(now=now + timedelta(seconds=30)) == [delivery.pk]
    later = now + timedelta(seconds=30)
    assert services.alert_delivery_send(delivery_id=delivery.pk, now=later).outcome == Outcome.SENT
    assert len(receiver.received) == 2
    # Both attempts carry the same delivery id: a receiver can drop a repeat.
    assert len({r.headers["x-outagewatch-delivery"] for r in receiver.received}) == 1


def test_a_slow_receiver_times_out_and_is_retried(hook, outage, receiver, settings):
    settings.ALERT_HTTP_TIMEOUT_SECONDS = 0.3
    hook()
    receiver.answer(Answer(200, delay=1.0))

    result = _deliver(outage())

    assert result.outcome == Outcome.RETRY
    delivery = AlertDelivery.objects.get()
    assert "timed out" in delivery.last_error.lower()
    # It had the whole request: the message may have reached it, and counts as told.
    assert delivery.maybe_sent


def test_a_receiver_that_cannot_be_reached_never_had_the_message(hook, outage, settings):
    hook(url=f"http://127.0.0.1:{free_port()}/hook")  # nothing listens there

    assert _deliver(outage()).outcome == Outcome.RETRY
    assert not AlertDelivery.objects.get().maybe_sent


def test_a_redirect_is_not_followed(hook, outage, receiver):
    hook()
    receiver.answer(Answer(302, headers=(("Location", "http://169.254.169.254/latest/"),)))

    result = _deliver(outage())

    assert result.outcome == Outcome.FAILED and "redirects are not followed" in result.reason
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (502, False), (503, False), (408, False), (425, False), (429, False),
     (400, True), (401, True), (404, True), (410, True)],
)  # fmt: skip
def test_what_an_answer_means_for_a_delivery(status, permanent):
    """A receiver's own trouble (5xx) or its rate limit (429) is retried; a refusal is not
    and counts towards disabling (mutation tester, forty-seventh session: 500 and 429 taken
    as refusals survived)."""
    with pytest.raises(channels.TransportError) as refused:
        http._checked(HTTPAnswer(status=status, body=b"no"))
    assert refused.value.permanent is permanent
    assert str(refused.value).startswith(f"HTTP {status}")


def test_the_answer_is_read_only_up_to_the_cap(receiver, settings):
    settings.ALERT_HTTP_MAX_RESPONSE_BYTES = 1000
    receiver.answer(Answer(200, body=b"x" * 5_000_000))

    answer = http.post(receiver.url, body=b"{}", headers={})

    assert answer.status == 200 and len(answer.body) == 1000


def test_an_answer_trickled_byte_by_byte_is_cut_off(receiver, settings):
    settings.ALERT_HTTP_TIMEOUT_SECONDS = 0.5
    receiver.answer(Answer(200, body=b"x" * 100, trickle=0.05))  # 5 s in all, each byte fast
    started = time.monotonic()

    with pytest.raises(channels.TransportError) as slow:
        http.post(receiver.url, body=b"{}", headers={})

    assert not slow.value.permanent and "timed out after" in str(slow.value)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("172.16.5.4", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::ffff:10.0.0.1", False),
        ("fd00::1", False),
        ("224.0.0.1", False),
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
    ],
)
def test_only_public_addresses_are_allowed(address, allowed, settings):
    settings.ALERT_HTTP_ALLOW_LOOPBACK = False
    assert http.address_allowed(ipaddress.ip_address(address)) is allowed


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("2002:7f00:1::", False),
        ("64:ff9b::a00:1", False),
        ("2002:5db8:d70e::", True),
        ("64:ff9b::5db8:d70e", True),
        # Review (forty-third session): a site's local NAT64 (RFC 8215), IPv4-compatible and
        # site-local addresses passed as public.
        ("64:ff9b:1::a00:1", False),
        ("64:ff9b:1:5db8:d7:e00::", False),
        ("::a00:1", False),
        ("::5db8:d70e", True),
        ("fec0::1", False),
        # Teredo (RFC 4380) is refused whatever it carries, here 93.184.215.14 (inverted): a
        # packet to it goes through a relay to a NAT's UDP port (Python counts it not global).
        ("2001:0:4136:e378:8000:63bf:a247:28f1", False),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # 127.0.0.1
    ],
)
def test_ipv6_forms_of_ipv4_are_judged_as_the_address_they_reach(address, allowed, settings):
    settings.ALERT_HTTP_ALLOW_LOOPBACK = False
    assert http.address_allowed(ipaddress.ip_address(address)) is allowed


def test_a_stored_url_in_other_scripts_is_sent_percent_encoded(hook, outage, receiver):
    # Stored before entry normalised it: http.client cannot put it on the request line
    # (UnicodeEncodeError), which left the row claimed and the test button at a 500.
    hook(url=receiver.url + "/grüße?team=ä b")

    assert _deliver(outage()).outcome == Outcome.SENT

    [request] = receiver.received
    assert request.path == "/hooks/outagewatch/gr%C3%BC%C3%9Fe?team=%C3%A4%20b"


def test_a_stored_url_with_a_control_character_is_sent_encoded(hook, outage, receiver):
    # Stored before entry refused them: http.client refused the request line (InvalidURL),
    # retried as transient for an hour a message, then the channel was disabled.
    hook(url=receiver.url + "/a\x01b c")

    assert _deliver(outage()).outcome == Outcome.SENT

    assert [r.path for r in receiver.received] == ["/hooks/outagewatch/a%01b%20c"]


def test_a_transport_that_raises_anything_fails_the_delivery_instead_of_holding_it(
    hook, outage, monkeypatch
):
    def broken(self, notice):
        raise RuntimeError("a bug")

    monkeypatch.setattr(channels.WebhookTransport, "send", broken)
    sub = hook()

    assert _deliver(outage()).outcome == Outcome.FAILED
    delivery = AlertDelivery.objects.get()
    assert delivery.status == Status.FAILED and "a bug" in delivery.last_error
    tested = services.channel_test_send(subscription=sub)
    assert not tested.ok and "on our side" in tested.message


def test_loopback_is_refused_unless_the_setting_allows_it(hook, outage, receiver, settings):
    hook()
    settings.ALERT_HTTP_ALLOW_LOOPBACK = False

    result = _deliver(outage())

    assert result.outcome == Outcome.FAILED
    assert result.reason.endswith("127.0.0.1 is a private or local address, where we do not send")
    # A name's addresses go to the operator's log, not to whoever chose the URL: "send a
    # test" mapped the deployment's internal names to their addresses (red-team tester F3).
    with pytest.raises(channels.TransportError) as named:
        http.post("http://localhost:9/hook", body=b"{}", headers={})
    assert str(named.value) == (
        "localhost resolves to a private or local address, where we do not send"
    )
    assert receiver.received == []
    # Even with loopback allowed, a name that points into a private network is refused.
    settings.ALERT_HTTP_ALLOW_LOOPBACK = True
    with pytest.raises(channels.TransportError) as refused:
        http.post("http://10.0.0.7:8080/hook", body=b"{}", headers={})
    assert refused.value.permanent


class _Network:
    """socket.getaddrinfo answering from a table, and socket.create_connection noting where
    it was asked to connect (and refusing): no packet leaves the machine."""

    def __init__(self, names: dict[str, list[list[str]]]) -> None:
        self.names = names  # name -> the addresses of each lookup in turn (the last repeats)
        self.lookups: list[str] = []
        self.connects: list[tuple[str, int]] = []

    def getaddrinfo(self, host, port, *args, **kwargs):
        self.lookups.append(host)
        answers = self.names[host]
        addresses = answers[min(len(self.lookups), len(answers)) - 1]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    def create_connection(self, address, *args, **kwargs):
        self.connects.append(address)
        raise ConnectionRefusedError(111, "Connection refused")


def test_the_connection_goes_to_the_address_that_was_vetted(monkeypatch, settings):
    # DNS rebinding: a name public when vetted and private when connected to. The vetted
    # address is pinned; nothing covered it (mutation tester, forty-seventh session).
    settings.ALERT_HTTP_ALLOW_LOOPBACK = False
    network = _Network({"hooks.rebind.test": [["93.184.215.14"], ["127.0.0.1"]]})
    monkeypatch.setattr(socket, "getaddrinfo", network.getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", network.create_connection)

    with pytest.raises(channels.TransportError):
        http.post("http://hooks.rebind.test:8080/hook", body=b"{}", headers={})

    assert network.lookups == ["hooks.rebind.test"]
    assert network.connects == [("93.184.215.14", 8080)]


@pytest.mark.parametrize(
    "addresses", [["93.184.215.14", "10.0.0.7"], ["10.0.0.7", "93.184.215.14"]]
)
def test_a_name_that_also_points_inside_is_refused_whatever_else_it_says(
    addresses, monkeypatch, settings
):
    settings.ALERT_HTTP_ALLOW_LOOPBACK = False
    network = _Network({"hooks.mixed.test": [addresses]})
    monkeypatch.setattr(socket, "getaddrinfo", network.getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", network.create_connection)

    with pytest.raises(channels.TransportError) as refused:
        http.post("http://hooks.mixed.test/hook", body=b"{}", headers={})

    assert refused.value.permanent
    assert str(refused.value) == (
        "hooks.mixed.test resolves to a private or local address, where we do not send"
    )
    assert network.connects == []


TLS = Path(__file__).parent / "tls"  # a test CA and its certificate for hooks.tls.test


class TLSReceiver(Receiver):
    """The receiver behind TLS, as hooks.tls.test (tests/alerts/tls/README.md)."""

    @property
    def url(self) -> str:
        return f"https://hooks.tls.test:{self.port}/hooks/outagewatch"

    def _serve(self, handler) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(TLS / "hooks.pem", TLS / "hooks.key")

        class Server(ThreadingHTTPServer):
            def get_request(self):
                sock, address = super().get_request()
                return context.wrap_socket(sock, server_side=True), address

        self._server = Server(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()


@pytest.fixture
def tls_receiver(receiver, monkeypatch):
    """A TLS receiver whose name resolves to loopback (allowed, as for `receiver`)."""
    running = TLSReceiver().start()
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        return real("127.0.0.1" if host == "hooks.tls.test" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield running
    running.stop()


def test_a_certificate_no_one_trusts_is_refused(tls_receiver):
    # An unverified context (a man in the middle reads the body and its signature) passed
    # every test (mutation tester, forty-seventh session).
    with pytest.raises(channels.TransportError) as refused:
        http.post(tls_receiver.url, body=b"{}", headers={})

    assert refused.value.permanent
    assert "the TLS certificate of hooks.tls.test was refused" in str(refused.value)
    assert tls_receiver.received == []


def test_the_certificate_is_checked_against_the_url_s_name(tls_receiver, monkeypatch):
    # Connected to the vetted address, the certificate is still the name's (SNI): checked
    # against the address instead, no real receiver's would ever pass.
    trusting = functools.partial(ssl.create_default_context, cafile=str(TLS / "ca.pem"))
    monkeypatch.setattr(ssl, "create_default_context", trusting)

    answer = http.post(tls_receiver.url, body=b"{}", headers={})

    assert answer.status == 200
    assert [r.path for r in tls_receiver.received] == ["/hooks/outagewatch"]


def test_a_channel_that_keeps_failing_is_disabled_and_its_owner_told(
    hook, outage, receiver, mailoutbox, settings
):
    settings.ALERT_CHANNEL_MAX_FAILURES = 3
    subscription = hook()
    receiver.default = Answer(410, b"gone")
    for minutes_ago in (300, 200, 100):
        o = outage(minutes_ago=minutes_ago)
        assert _deliver(o).outcome == Outcome.FAILED
        o.status, o.resolved_at = "resolved", timezone.now()
        o.save()

    subscription.refresh_from_db()
    assert subscription.disabled_at is not None and subscription.failures == 3
    assert "HTTP 410" in subscription.disabled_reason
    notice = ConfirmationDelivery.objects.get(purpose="disabled")
    assert services.confirmation_delivery_send(confirmation_id=notice.pk).outcome == Outcome.SENT
    [message] = mailoutbox
    assert message.to == ["owner@example.com"]
    assert "stopped sending Acme Cloud alerts to your webhook" in message.subject
    # The URL's path may hold the receiver's own secret: not repeated in the email.
    assert "/hooks/outagewatch" not in message.body and "127.0.0.1" in message.body
    # Nothing more is sent to it...
    services.alerts_notify(outage=outage(minutes_ago=1), change=Kind.OPENED)
    assert len(receiver.received) == 3
    # ...until its owner subscribes it again and confirms: it starts afresh.
    requested = services.subscription_request(
        email="owner@example.com",
        service=subscription.service,
        countries=[],
        channel="webhook",
        url=receiver.url,
    )
    assert requested.subscription.pk == subscription.pk
    pending = ConfirmationDelivery.objects.filter(purpose="confirm").latest("pk")
    services.subscription_confirm(confirmation=pending)
    subscription.refresh_from_db()
    assert (subscription.disabled_at, subscription.failures) == (None, 0)


def test_a_success_resets_the_failures_in_a_row(hook, outage, receiver, settings):
    settings.ALERT_CHANNEL_MAX_FAILURES = 2
    subscription = hook()
    receiver.answer(Answer(404))
    first = outage(minutes_ago=100)
    assert _deliver(first).outcome == Outcome.FAILED
    first.status, first.resolved_at = "resolved", timezone.now()
    first.save()
    assert _deliver(outage()).outcome == Outcome.SENT

    subscription.refresh_from_db()
    assert subscription.failures == 0 and subscription.disabled_at is None


def test_the_receiver_down_then_up_gets_the_message_once(hook, outage, settings):
    receiver = Receiver()  # not started: nothing listens on its port
    settings.ALERT_HTTP_ALLOW_LOOPBACK = True
    hook(url=receiver.url)
    now = timezone.now()
    assert _deliver(outage(), now=now).outcome == Outcome.RETRY
    delivery = AlertDelivery.objects.get()
    assert "refused" in delivery.last_error.lower()

    receiver.start()
    try:
        later = now + timedelta(minutes=5)
        [due] = selectors.deliveries_due(now=later)
        assert services.alert_delivery_send(delivery_id=due, now=later).outcome == Outcome.SENT
        assert services.alert_delivery_send(delivery_id=due, now=later).outcome == (
            Outcome.NOT_CLAIMED
        )
        assert len(receiver.received) == 1
    finally:
        receiver.stop()


def test_a_receiver_down_for_the_whole_outage_gets_its_resolved_saying_so(hook, outage, settings):
    # Its "opened" failed until the outage was over; the "resolved" is its first word of it,
    # in a field as well as in words (mail tester F2, regression tester F3, forty-fifth session).
    receiver = Receiver()  # not started: nothing listens on its port
    settings.ALERT_HTTP_ALLOW_LOOPBACK = True
    hook(url=receiver.url)
    now = timezone.now()
    down = outage()
    assert _deliver(down, now=now).outcome == Outcome.RETRY
    down.status, down.resolved_at = Outage.Status.RESOLVED, now + timedelta(minutes=10)
    down.save()
    services.alerts_notify(outage=down, change=Kind.RESOLVED, now=now + timedelta(minutes=10))
    receiver.start()
    try:
        later = now + timedelta(minutes=20)
        for due in selectors.deliveries_due(now=later):
            services.alert_delivery_send(delivery_id=due, now=later)
        [resolved] = receiver.received
        body = resolved.json()
        assert body["event"] == "resolved" and body["missed_opened"] is True
        assert "We could not reach you while it lasted" in body["summary"]
    finally:
        receiver.stop()


def test_the_task_delivered_twice_posts_once(hook, outage, receiver, eager):
    hook()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    delivery = AlertDelivery.objects.get()
    alert_delivery_send_task.delay(delivery_id=delivery.pk)
    alert_delivery_send_task.delay(delivery_id=delivery.pk)
    assert len(receiver.received) == 1


def test_each_test_message_has_a_delivery_key_of_its_own(subscriber, receiver):
    # A receiver that drops repeats by key dropped every test but the first (all "0"); a
    # key made from the (absent) row number survived (mutation tester, forty-seventh session).
    for email in ("owner@example.com", "other@example.com"):
        sub = subscriber(email, channel="webhook", url=receiver.url, secret=SECRET)
        assert services.channel_test_send(subscription=sub).ok
    keys = [r.headers["x-outagewatch-delivery"] for r in receiver.received]
    assert len(keys) == 2 and len(set(keys)) == 2
    assert all(key.startswith("test-") for key in keys)
    assert [r.json()["delivery"] for r in receiver.received] == keys


def test_the_webhook_body_says_the_episode_and_the_incident_s_time_in_its_format(
    subscriber, outage
):
    # A relapse's episode and the incident's acknowledged_at (RFC 3339, as every time in
    # the body) were never read back (mutation tester, forty-seventh session).
    sub = subscriber(channel="webhook", url="https://hooks.example.com/x", secret=SECRET)
    delivery = AlertDelivery(pk=7, outage=outage(["DE"]), subscription=sub, kind="reopened")
    delivery.episode = 2
    notice = presentation.notice_build(delivery=delivery, now=timezone.now())
    incident = {
        "id": 3, "title": "Login errors", "url": "https://status.example.com/i/3",
        "status": "investigating", "acknowledged_at": datetime(2026, 11, 18, 12, 3, tzinfo=UTC),
    }  # fmt: skip
    body = channels.webhook.payload(dataclasses.replace(notice, official_incident=incident))
    assert body["outage"]["episode"] == 2
    assert body["official_incident"]["acknowledged_at"] == "2026-11-18T12:03:00Z"


def test_the_signed_timestamp_is_the_moment_of_sending(hook, outage, receiver):
    # Rounded, it still verified within the 5 minutes a receiver allows; to the second it is
    # what the body's sent_at says (mutation tester, forty-seventh session).
    sub = hook()
    now = datetime(2026, 11, 18, 12, 0, 37, tzinfo=UTC)
    delivery = AlertDelivery(pk=7, outage=outage(["DE"]), subscription=sub, kind="opened")
    notice = presentation.notice_build(delivery=delivery, now=now)

    channels.WebhookTransport().send(notice)

    [request] = receiver.received
    assert request.headers["x-outagewatch-timestamp"] == str(int(now.timestamp()))
    assert request.json()["sent_at"] == "2026-11-18T12:00:37Z"
    assert verify(secret=SECRET, headers=request.headers, body=request.body, now=now.timestamp())


# --- Slack and Discord: their documented message formats ---------------------------------


def _slack_valid(message: dict) -> None:
    """Slack incoming webhooks: ``text`` (notification, fallback) plus Block Kit ``blocks``
    (https://api.slack.com/reference/block-kit/blocks)."""
    assert set(message) <= {"text", "blocks", "attachments", "thread_ts", "mrkdwn"}
    assert isinstance(message["text"], str) and message["text"]
    blocks = message["blocks"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        kind = block["type"]
        assert kind in {"header", "section", "context", "divider", "actions"}
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        if kind == "section":
            assert block["text"]["type"] in {"mrkdwn", "plain_text"}
            assert 0 < len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            for field in block.get("fields", []):
                assert field["type"] in {"mrkdwn", "plain_text"} and len(field["text"]) <= 2000
        if kind == "context":
            assert 0 < len(block["elements"]) <= 10
            for element in block["elements"]:
                assert element["type"] in {"mrkdwn", "plain_text", "image"}


def _discord_valid(message: dict) -> None:
    """Discord execute-webhook JSON: ``content`` (<= 2000) and up to 10 ``embeds``
    (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)."""
    assert set(message) <= {"content", "username", "avatar_url", "embeds", "allowed_mentions"}
    assert 0 < len(message["content"]) <= 2000
    embeds = message["embeds"]
    assert 0 < len(embeds) <= 10
    for embed in embeds:
        assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
        assert isinstance(embed["color"], int) and 0 <= embed["color"] <= 0xFFFFFF
        assert re.match(r"^https?://", embed["url"])
        datetime.fromisoformat(embed["timestamp"])
        assert len(embed["fields"]) <= 25
        for field in embed["fields"]:
            assert 0 < len(field["name"]) <= 256 and 0 < len(field["value"]) <= 1024
        assert len(embed["footer"]["text"]) <= 2048
        total = embed["title"] + embed["description"] + embed["footer"]["text"]
        total += "".join(f["name"] + f["value"] for f in embed["fields"])
        assert len(total) <= 6000


def test_slack_gets_text_and_blocks(hook, outage, receiver, settings):
    settings.SITE_URL = "https://ow.example"
    hook(channel="slack")

    assert _deliver(outage(["DE"])).outcome == Outcome.SENT

    [request] = receiver.received
    message = request.json()
    _slack_valid(message)
    assert "x-outagewatch-signature" not in request.headers  # Slack's URL is the secret
    text = str(message)
    assert message["text"].startswith("Acme Cloud: problems detected in Germany")
    assert "Germany" in text and "Login (40)" in text
    assert "About 42 reports a minute, where about 3 are normal" in text
    assert "https://ow.example/outages/" in text and "https://ow.example/services/acme/" in text


def test_discord_gets_content_and_an_embed(hook, outage, receiver, settings):
    settings.SITE_URL = "https://ow.example"
    hook(channel="discord")
    o = outage(["DE"])

    assert _deliver(o).outcome == Outcome.SENT

    message = receiver.received[0].json()
    _discord_valid(message)
    embed = message["embeds"][0]
    assert embed["url"] == f"https://ow.example/outages/{o.pk}/"
    assert {"name": "Countries", "value": "Germany", "inline": True} in embed["fields"]
    assert "About 42 reports a minute, where about 3 are normal" in str(embed["fields"])
    assert message["allowed_mentions"] == {"parse": []}


def test_chat_messages_show_a_name_s_markup_as_text(subscriber, outage):
    # Slack's top-level text (its notification) carried "<!channel>" live, and Discord made
    # "[x](url)" a disguised link (text tester, forty-sixth session).
    from reports.models import Service

    name = "<!channel> [x](http://evil.example) *Acme* & Co"
    sub = subscriber(channel="slack", url="https://hooks.slack.com/services/T0/B0/x")
    Service.objects.filter(pk=sub.service_id).update(name=name)
    o = outage(["DE"])
    o.service.name = sub.service.name = name
    delivery = AlertDelivery(pk=7, outage=o, subscription=sub, kind="opened")
    notice = presentation.notice_build(delivery=delivery, now=timezone.now())
    slack = channels.slack.payload(notice)
    assert slack["text"].startswith("&lt;!channel&gt; [x](http://evil.example) *Acme*")
    discord = channels.discord.payload(notice)
    assert discord["content"].startswith(r"\<!channel\> \[x\](http://evil.example) \*Acme\*")
    assert discord["embeds"][0]["title"].startswith(name)  # no markdown there
    # Everywhere Slack reads mrkdwn, the name is text: its notification, the link to the
    # service's page, and an "&" as "&amp;" (mutation tester, forty-seventh session).
    escaped = "&lt;!channel&gt; [x](http://evil.example) *Acme* &amp; Co"
    assert escaped in slack["text"]
    [context] = slack["blocks"][2]["elements"]
    assert f"|{escaped} status>" in context["text"]
    # The summary quotes words from elsewhere (the provider's incident title, the name):
    # as text in both.
    quoted = presentation.notice_build(delivery=delivery, now=timezone.now())
    quoted = dataclasses.replace(quoted, summary=f"Its incident: {name}.")
    assert channels.slack.payload(quoted)["blocks"][1]["text"]["text"] == (
        f"Its incident: {escaped}."
    )
    assert channels.discord.payload(quoted)["embeds"][0]["description"] == (
        r"Its incident: \<!channel\> \[x\](http://evil.example) \*Acme\* & Co."
    )


@pytest.mark.parametrize("kind", ["opened", "reopened", "resolved"])
@pytest.mark.parametrize("countries", [[], ["DE"], ["DE", "FR", "AT", "CH", "NL", "BE"]])
def test_every_event_makes_valid_chat_messages(subscriber, outage, kind, countries):
    sub = subscriber(channel="slack", url="https://hooks.slack.com/services/T0/B0/x")
    o = outage(countries, explanation="<b>&</b> " * 2000)
    if kind == "resolved":
        o.status, o.resolved_at = "resolved", timezone.now()
    delivery = AlertDelivery(pk=7, outage=o, subscription=sub, kind=kind, episode=1)
    notice = presentation.notice_build(delivery=delivery, now=timezone.now())
    _slack_valid(channels.slack.payload(notice))
    discord = channels.discord.payload(notice)
    _discord_valid(discord)
    # Green once resolved, red while there are problems.
    assert discord["embeds"][0]["color"] == (0x067647 if kind == "resolved" else 0xB42318)
