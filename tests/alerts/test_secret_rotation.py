"""Rotating a webhook's signing secret without losing messages (API tester F8).

"Make a new secret" replaced the secret at once: the next message was signed with the new
one only, a receiver not yet given it answered 401, which is permanent (one attempt), and
ALERT_CHANNEL_MAX_FAILURES such refusals disabled the channel. Now the old secret keeps
signing beside the new one for WEBHOOK_SECRET_OVERLAP_HOURS, and the immediate cut-over
stays for a leaked secret.

The receivers here are real HTTP servers that run README's verify() (taken from README.md
itself) and answer 401 when it says no. Clocks are pinned near the real one: every call
that depends on the time gets ``now=``, and verify() reads time.time() for its replay window.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from alerts import emails, services
from alerts.channels.webhook import signature
from alerts.models import AlertDelivery, Subscription
from tests.alerts.receiver import Answer, Received

pytestmark = pytest.mark.django_db

OLD = "0ld5" * 16
README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_verify():
    """The verify() of README's "Webhooks" section, as a receiver copies it."""
    section = README.read_text().split("### Webhooks", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code, "README's Webhooks section has no Python example"
    namespace: dict = {}
    exec(code.group(1), namespace)
    return namespace["verify"]


def verifies(secret: str, request: Received) -> bool:
    headers = {
        "X-OutageWatch-Timestamp": request.headers["x-outagewatch-timestamp"],
        "X-OutageWatch-Signature": request.headers["x-outagewatch-signature"],
    }
    return _readme_verify()(secret, headers, request.body)


def holding(receiver, secret: str) -> None:
    """The receiver verifies with `secret` and answers 401 to a mismatch."""
    receiver.judge = lambda request: (
        Answer() if verifies(secret, request) else Answer(status=401, body=b"bad signature")
    )


@pytest.fixture
def hook(subscriber, receiver) -> Subscription:
    return subscriber(
        "owner@example.com",
        channel="webhook",
        url=receiver.url,
        secret=OLD,
        secret_shown_at=timezone.now() - timedelta(days=30),
    )


def _deliver(outage, now: datetime) -> AlertDelivery:
    services.alerts_notify(outage=outage, change=AlertDelivery.Kind.OPENED, now=now)
    delivery = AlertDelivery.objects.get()
    services.alert_delivery_send(delivery_id=delivery.pk, now=now)
    delivery.refresh_from_db()
    return delivery


def _signed_with(request: Received) -> list[str]:
    return request.headers["x-outagewatch-signature"].split(",")


def test_during_the_overlap_a_receiver_with_the_old_secret_accepts_the_message(
    hook, outage, receiver
):
    now = timezone.now()
    new = services.subscription_secret_rotate(
        subscription=hook, overlap=True, now=now - timedelta(hours=1)
    )
    holding(receiver, OLD)  # not yet given the new secret

    delivery = _deliver(outage(["DE"]), now)

    assert (delivery.status, delivery.attempts) == (AlertDelivery.Status.SENT, 1)
    [request] = receiver.received
    timestamp = int(request.headers["x-outagewatch-timestamp"])
    # The new secret's value first, then the old one's, in the one header.
    assert _signed_with(request) == [
        signature(secret=new, timestamp=timestamp, body=request.body),
        signature(secret=OLD, timestamp=timestamp, body=request.body),
    ]
    assert verifies(new, request)  # a receiver already given the new one accepts it too
    assert not verifies("someone else's", request)
    hook.refresh_from_db()
    assert hook.failures == 0 and hook.disabled_at is None


def test_after_the_overlap_only_the_new_secret_signs(hook, outage, receiver):
    now = timezone.now()
    new = services.subscription_secret_rotate(
        subscription=hook, overlap=True, now=now - timedelta(hours=24, seconds=1)
    )
    holding(receiver, OLD)

    delivery = _deliver(outage(["DE"]), now)

    [request] = receiver.received
    timestamp = int(request.headers["x-outagewatch-timestamp"])
    assert _signed_with(request) == [signature(secret=new, timestamp=timestamp, body=request.body)]
    assert verifies(new, request) and not verifies(OLD, request)
    assert delivery.status == AlertDelivery.Status.FAILED and "401" in delivery.last_error


def test_a_new_secret_that_stops_the_old_one_now_signs_with_the_new_only(hook, outage, receiver):
    now = timezone.now()
    new = services.subscription_secret_rotate(subscription=hook, overlap=False, now=now)
    holding(receiver, new)

    delivery = _deliver(outage(["DE"]), now + timedelta(seconds=5))

    assert delivery.status == AlertDelivery.Status.SENT
    [request] = receiver.received
    assert len(_signed_with(request)) == 1
    assert verifies(new, request) and not verifies(OLD, request)
    hook.refresh_from_db()
    assert (hook.secret, hook.secret_previous, hook.secret_previous_until) == (new, None, None)


def test_stopping_the_old_secret_ends_the_overlap(hook, outage, receiver):
    now = timezone.now()
    new = services.subscription_secret_rotate(subscription=hook, overlap=True, now=now)
    services.subscription_secret_previous_drop(subscription=hook)
    holding(receiver, OLD)

    delivery = _deliver(outage(["DE"]), now + timedelta(seconds=5))

    assert delivery.status == AlertDelivery.Status.FAILED
    [request] = receiver.received
    assert len(_signed_with(request)) == 1 and verifies(new, request)


def test_a_second_rotation_keeps_only_the_secret_it_replaces(hook, outage, receiver):
    now = timezone.now()
    first = services.subscription_secret_rotate(subscription=hook, overlap=True, now=now)
    second = services.subscription_secret_rotate(subscription=hook, overlap=True, now=now)
    holding(receiver, first)

    assert _deliver(outage(["DE"]), now + timedelta(seconds=5)).status == "sent"

    [request] = receiver.received
    assert len(_signed_with(request)) == 2
    assert verifies(second, request) and verifies(first, request)
    assert not verifies(OLD, request)


def test_no_overlap_when_the_setting_is_zero(hook, settings):
    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 0
    services.subscription_secret_rotate(subscription=hook, overlap=True)
    hook.refresh_from_db()
    assert hook.secret != OLD and hook.secret_previous is None


def test_a_receiver_that_compares_the_whole_header_refuses_during_the_overlap(
    hook, outage, receiver
):
    """What README's recipe before the overlap did: one value expected, the whole header."""
    now = timezone.now()
    new = services.subscription_secret_rotate(subscription=hook, overlap=True, now=now)
    _deliver(outage(["DE"]), now + timedelta(seconds=5))
    [request] = receiver.received
    timestamp = request.headers["x-outagewatch-timestamp"]

    def whole_header(secret: str) -> bool:
        mac = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256)
        return hmac.compare_digest(
            request.headers["x-outagewatch-signature"], "v1=" + mac.hexdigest()
        )

    # The README says so, and the page offers to stop the old secret once the receiver has
    # the new one: the header is then the single value such a receiver expects.
    assert not whole_header(OLD) and not whole_header(new)


def test_no_secret_is_logged(hook, outage, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    now = timezone.now()
    new = services.subscription_secret_rotate(subscription=hook, overlap=True, now=now)
    holding(receiver, "wrong")
    _deliver(outage(["DE"]), now + timedelta(seconds=5))
    assert OLD not in caplog.text and new not in caplog.text


def _manage_path(sub: Subscription) -> str:
    return re.sub(r"^https?://[^/]+", "", emails.manage_url(subscription=sub))


def test_the_page_offers_both_rotations_in_plain_words(hook, client, settings):
    path = _manage_path(hook)
    page = client.get(path).content.decode()
    assert "Make a new secret; the old one keeps working for 24 hours" in page
    assert "Make a new secret and stop the old one now" in page
    assert "Stop signing with the old secret now" not in page

    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 0
    page = client.get(path).content.decode()
    assert "keeps working" not in page and "Make a new secret and stop the old one now" in page


def test_the_page_rotates_with_an_overlap_and_can_end_it(hook, client):
    path = _manage_path(hook)

    shown = client.post(path, {"action": "rotate", "overlap": "yes"}, follow=True)

    hook.refresh_from_db()
    text = shown.content.decode()
    assert hook.secret in text and OLD not in text  # the new one shown once, never the old
    assert hook.secret_previous == OLD
    assert "Until " in text and "signed with the old one too" in text
    page = client.get(path).content.decode()
    assert "Stop signing with the old secret now" in page

    stopped = client.post(path, {"action": "secret_old_stop"}, follow=True)

    assert "signed with the new secret only" in stopped.content.decode()
    hook.refresh_from_db()
    assert hook.secret_previous is None and hook.secret_previous_until is None
    assert "Stop signing with the old secret now" not in client.get(path).content.decode()


def test_the_page_s_leak_button_stops_the_old_secret_at_once(hook, client):
    shown = client.post(_manage_path(hook), {"action": "rotate"}, follow=True)

    hook.refresh_from_db()
    assert hook.secret != OLD and hook.secret_previous is None
    assert "the old one no longer verifies" in shown.content.decode()
