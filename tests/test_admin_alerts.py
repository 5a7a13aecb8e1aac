"""The subscription and delivery admin as the operator on duty uses it: a subscription's
delivery state at a glance, a bouncing channel disabled the product's way, no secret in
clear, and the outbox's rows not rewritten by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from detection.models import Outage

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 25, 11, 40, tzinfo=dt.UTC)
SUBSCRIPTIONS = "/admin/alerts/subscription/"
DELIVERIES = "/admin/alerts/alertdelivery/"
CONFIRMATIONS = "/admin/alerts/confirmationdelivery/"
HOOK = "https://hooks.example/services/T0001/B0002/xoxb-token-in-the-path"


@pytest.fixture
def hook(service) -> Subscription:
    return Subscription.objects.create(
        email="ops@example.com",
        service=service,
        channel=Subscription.Channel.WEBHOOK,
        url=HOOK,
        secret="whsec-signing-secret-0123456789",
        secret_previous="whsec-previous-secret-0123456789",
        confirmed_at=T0,
        failures=2,
    )


@pytest.fixture
def sent(service, hook) -> AlertDelivery:
    outage = Outage.objects.create(
        service=service,
        started_at=T0,
        detected_at=T0,
        tally={"networks": [f"network-{k}" for k in range(50)]},
    )
    ConfirmationDelivery.objects.create(subscription=hook, address_key="ops@example.com")
    return AlertDelivery.objects.create(
        outage=outage, subscription=hook, kind="opened", status="failed", last_error="HTTP 410"
    )


def test_no_secret_or_hook_token_appears_on_the_subscription_pages(
    admin_client, hook, sent, midday
):
    """A Slack, Discord or webhook address is itself a credential (whoever has it posts to
    the channel), and the signing secrets sign what the receiver trusts."""
    for url in (
        SUBSCRIPTIONS,
        f"{SUBSCRIPTIONS}{hook.pk}/change/",
        DELIVERIES,
        f"{DELIVERIES}{sent.pk}/change/",
        CONFIRMATIONS,
    ):
        page = admin_client.get(url)
        assert page.status_code == 200, url
        text = page.content.decode()
        assert "whsec-" not in text and "xoxb-token" not in text and "T0001" not in text, url
    change = admin_client.get(f"{SUBSCRIPTIONS}{hook.pk}/change/").content.decode()
    assert "https://hooks.example/…" in change  # which receiver, without its token


def test_a_subscription_s_channel_is_not_rewritten_by_hand(admin_client, hook, midday):
    """Its address and channel were confirmed by their owner (double opt-in): one edited here
    sends alerts to an address nobody confirmed. Its state is the outbox's."""
    change = f"{SUBSCRIPTIONS}{hook.pk}/change/"
    assert dict(admin_client.get(change).context["adminform"].form.fields) == {}
    admin_client.post(change, {"email": "else@example.com", "url": "https://x.example/"})
    hook.refresh_from_db()
    assert (hook.email, hook.url) == ("ops@example.com", HOOK)
    assert admin_client.get(f"{SUBSCRIPTIONS}add/").status_code == 403
    # Deleted, as its owner can (an erasure request): the product's own way out.
    assert admin_client.get(f"{SUBSCRIPTIONS}{hook.pk}/delete/").status_code == 200


def test_the_operator_disables_a_bouncing_channel_and_its_owner_is_told(
    admin_client, hook, midday, django_capture_on_commit_callbacks
):
    body = {"action": "channels_disable", "_selected_action": [hook.pk], "index": 0}
    with django_capture_on_commit_callbacks():
        page = admin_client.post(SUBSCRIPTIONS, body, follow=True)
    assert "1 channel disabled." in page.content.decode()
    hook.refresh_from_db()
    assert hook.disabled_at == midday and "operator" in hook.disabled_reason
    # The product's way (alerts.services.subscription_disable): its owner hears of it.
    assert hook.confirmations.filter(purpose="disabled").count() == 1
    with django_capture_on_commit_callbacks():
        again = admin_client.post(SUBSCRIPTIONS, body, follow=True)
    assert "0 channels disabled." in again.content.decode()
    assert hook.confirmations.filter(purpose="disabled").count() == 1
    history = admin_client.get(f"{SUBSCRIPTIONS}{hook.pk}/history/").content.decode()
    assert history.count("Channel disabled.") == 1


def test_a_subscription_links_to_its_deliveries(admin_client, service, hook, sent, midday):
    other = Subscription.objects.create(email="b@example.com", service=service, confirmed_at=T0)
    AlertDelivery.objects.create(outage=sent.outage, subscription=other, kind="opened")
    listing = admin_client.get(SUBSCRIPTIONS).content.decode()
    link = f"{DELIVERIES}?subscription__id__exact={hook.pk}"
    assert link.replace("&", "&amp;") in listing or link in listing
    page = admin_client.get(DELIVERIES, {"subscription__id__exact": hook.pk})
    assert list(page.context["cl"].result_list) == [sent]


def test_deliveries_are_shown_not_rewritten_or_deleted(admin_client, sent, midday):
    """A delivery row is the once-only guarantee (unique per outage, subscription, event):
    deleted, nothing sends it again; set back to pending, it is sent twice."""
    for url, row in ((DELIVERIES, sent), (CONFIRMATIONS, ConfirmationDelivery.objects.get())):
        page = admin_client.get(f"{url}{row.pk}/change/")
        assert dict(page.context["adminform"].form.fields) == {}
        assert admin_client.get(f"{url}{row.pk}/delete/").status_code == 403
        assert admin_client.get(f"{url}add/").status_code == 403
    admin_client.post(f"{DELIVERIES}{sent.pk}/change/", {"status": "pending"})
    sent.refresh_from_db()
    assert sent.status == "failed"


@pytest.mark.parametrize("url", [SUBSCRIPTIONS, DELIVERIES, CONFIRMATIONS])
def test_alert_lists_count_once_and_read_no_outage_tally(admin_client, sent, url, midday):
    """These tables grow with every outage times every follower: the full count beside the
    filtered one was a second COUNT(*) of the whole table, and each delivery row carried its
    outage's tally (every network of a big outage)."""
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(url).status_code == 200
    sql = [q["sql"] for q in queries]
    assert sum("COUNT(" in s.upper() for s in sql) <= 1
    assert not any("tally" in s for s in sql)


def test_the_delivery_list_costs_the_same_queries_for_many_rows(
    admin_client, service, sent, midday, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(DELIVERIES)
    for k in range(20):
        subscription = Subscription.objects.create(email=f"s{k}@example.com", service=service)
        AlertDelivery.objects.create(outage=sent.outage, subscription=subscription, kind="opened")
    with django_assert_max_num_queries(len(queries)):
        admin_client.get(DELIVERIES)
