"""The channel management page: every POST is answered by a redirect to the page with its
result (reloading does not act again), delete asks first, and its words: tenses that match
the channel's state, failures in plain words, times in the owner's zone."""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from alerts import emails, presentation, services
from alerts.channels import TransportError
from alerts.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook(subscriber):
    def make(**kw) -> tuple[Subscription, str]:
        fields = {"channel": "webhook", "url": "https://hooks.example.invalid/ow", **kw}
        sub = subscriber("dave@example.com", secret="s" * 64, **fields)
        return sub, re.sub(r"^https?://[^/]+", "", emails.manage_url(subscription=sub))

    return make


def _fail_with(monkeypatch, exc: BaseException) -> None:
    from alerts.channels import webhook

    def send(self, notice):
        raise exc

    monkeypatch.setattr(webhook.WebhookTransport, "send", send)


def _dns_failure() -> TransportError:
    try:
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as lookup:
            raise OSError(f"Cannot resolve x: {lookup}") from lookup
    except OSError as outbound:
        error = TransportError(str(outbound), permanent=False)
        error.__cause__ = outbound
        return error


@pytest.mark.parametrize(
    ("action", "extra"),
    [("test", {}), ("acknowledged", {"notify_acknowledged": "on"}), ("rotate", {})],
)
def test_each_action_redirects_to_the_page_which_shows_its_result_once(
    webhook, client, monkeypatch, action, extra
):
    _fail_with(monkeypatch, _dns_failure())
    _, path = webhook(secret_shown_at=timezone.now())

    response = client.post(path, {"action": action, **extra})

    assert response.status_code == 302 and response["Location"] == path
    page = client.get(path).content.decode()
    result = {
        "test": "The test failed",
        "acknowledged": "Saved: we will also post",
        "rotate": "A new secret",
    }[action]
    assert result in page
    assert result not in client.get(path).content.decode()  # a reload says it no more


def test_confirming_redirects_and_the_secret_is_shown_once_after_it(webhook, client):
    sub, path = webhook(confirmed_at=None)
    services.subscription_request(
        email=sub.email, service=sub.service, countries=[], channel="webhook", url=sub.url
    )

    response = client.post(path, {"action": "confirm"})

    assert response.status_code == 302 and response["Location"] == path
    first = client.get(path).content.decode()
    assert "Confirmed" in first and "s" * 64 in first and "Active since" in first
    again = client.get(path).content.decode()
    assert "s" * 64 not in again and "Confirmed" not in again


def test_delete_asks_first_and_then_redirects_away_from_the_dead_link(webhook, client):
    sub, path = webhook()

    asked = client.post(path, {"action": "delete"})

    assert asked.status_code == 302 and Subscription.objects.filter(pk=sub.pk).exists()
    question = client.get(asked["Location"]).content.decode()
    assert "Delete this webhook for good?" in question and 'name="confirm_delete"' in question

    deleted = client.post(path, {"action": "delete", "confirm_delete": "yes"})

    assert deleted.status_code == 302 and deleted["Location"] == sub.service.get_absolute_url()
    assert not Subscription.objects.filter(pk=sub.pk).exists()
    landed = client.get(deleted["Location"]).content.decode()
    assert "Deleted: nothing more will be posted for Acme Cloud to that webhook." in landed


def test_before_confirming_the_secret_is_one_to_be_shown(webhook, client):
    _, path = webhook(confirmed_at=None)
    page = client.get(path).content.decode()
    assert "shown once when you confirm." in page and "when you confirmed" not in page


def test_a_failed_test_names_the_failure_in_plain_words(webhook, client, monkeypatch):
    _fail_with(monkeypatch, _dns_failure())
    _, path = webhook()

    page = client.post(path, {"action": "test"}, follow=True).content.decode()

    assert (
        "The test failed: the name hooks.example.invalid does not exist (DNS lookup failed)."
        in page
    )
    assert "Errno" not in page


def test_plain_words_keep_other_errors_without_their_errno():
    refused = TransportError("[Errno 111] Connection refused", permanent=False)
    refused.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert presentation.failure_plain(refused, url="https://h.example/x") == (
        "h.example refused the connection (nothing answers on that port)"
    )
    odd = TransportError("[Errno 5] Input/output error", permanent=False)
    assert presentation.failure_plain(odd, url="https://h.example/x") == "Input/output error"


def test_times_are_in_the_owners_zone(webhook, client):
    confirmed = datetime.now(UTC).replace(hour=9, minute=42, second=0, microsecond=0)
    _, path = webhook(confirmed_at=confirmed, timezone="Asia/Tokyo")
    page = client.get(path).content.decode()
    assert re.search(r"Active since [^<]*18:42 \(UTC\+9\)", page)
    assert "09:42 UTC" not in page
