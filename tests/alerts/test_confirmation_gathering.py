"""Requests over a mailbox's daily confirmation cap are gathered, not dropped: their links go
in one email a day that lists each service with its own link.

Clocks are pinned: services get ``now=`` explicitly, and the sweep below sends what is due
at that time (the real sweeper queues the same ids).
"""

from __future__ import annotations

import html
import json
import re
import smtplib
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import selectors, services
from alerts.api.views import MESSAGE
from alerts.models import ConfirmationDelivery, Subscription
from alerts.services import Outcome

pytestmark = pytest.mark.django_db

Status = ConfirmationDelivery.Status

CONFIRM = re.compile(r"https?://[^\s\"<>]+(/subscriptions/confirm/[^\s\"<>]+/)")
MANAGE = re.compile(r"https?://[^\s\"<>]+(/subscriptions/manage/[^\s\"<>]+/)")


@pytest.fixture(autouse=True)
def _cap(settings):
    settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY = 5
    settings.SUBSCRIPTION_CONFIRM_GATHER_MINUTES = 10
    settings.SUBSCRIPTION_CONFIRM_RESEND_MINUTES = 15


@pytest.fixture
def catalog(make_service):
    return [make_service(f"svc{k}", f"Service {k}") for k in range(40)]


def _request(service, email="ann@example.com", now=None, **kw):
    return services.subscription_request(
        email=email, service=service, countries=kw.pop("countries", []), now=now, **kw
    )


def _sweep(now) -> list[services.SendResult]:
    """What alerts_sweep would queue at ``now``, each sent on the same clock."""
    return [
        services.confirmation_delivery_send(confirmation_id=pk, now=now)
        for pk in selectors.confirmations_due(now=now)
    ]


def _confirm_paths(message) -> list[str]:
    return CONFIRM.findall(message.body)


def _smtp_failing(monkeypatch, exc: BaseException) -> None:
    from django.core.mail import EmailMultiAlternatives

    def send(self, fail_silently=False):
        raise exc

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)


def test_over_the_cap_the_links_go_in_one_list_and_each_confirms_its_own(
    catalog, client, mailoutbox, settings
):
    t0 = timezone.now() - timedelta(hours=1)
    results = [_request(service, now=t0, countries=["DE"]) for service in catalog[:7]]

    assert [r.confirmation_queued for r in results] == [True] * 5 + [False] * 2
    assert [r.confirmation_gathered for r in results] == [False] * 5 + [True] * 2
    assert ConfirmationDelivery.objects.count() == 7

    _sweep(t0)
    assert len(mailoutbox) == 5
    assert _sweep(t0 + timedelta(minutes=9)) == []

    outcomes = [r.outcome for r in _sweep(t0 + timedelta(minutes=10))]

    assert outcomes == [Outcome.SENT, Outcome.NOT_CLAIMED]  # the first took both
    assert len(mailoutbox) == 6
    listed = mailoutbox[5]
    assert listed.to == ["ann@example.com"]
    assert listed.subject == "Confirm OutageWatch alerts for 2 services"
    assert "Service 5" in listed.body and "Service 6" in listed.body
    assert "Germany" in listed.body
    assert "someone asked for alerts for Service 5, Service 6" in listed.body
    html = listed.alternatives[0][0]
    assert "Service 5" in html and "Unsubscribe" not in html
    assert "List-Unsubscribe" not in listed.extra_headers
    domain = settings.SITE_URL.split("//", 1)[1].split("/")[0].split(":")[0]
    assert listed.extra_headers["Message-ID"].endswith(f"@{domain}>")
    assert set(ConfirmationDelivery.objects.values_list("status", flat=True)) == {Status.SENT}

    first, second = _confirm_paths(listed)
    assert client.post(first).status_code == 200
    confirmed = set(Subscription.objects.filter(confirmed_at__isnull=False).values_list("service"))
    assert confirmed == {(catalog[5].pk,)}
    assert client.post(second).status_code == 200
    assert client.post(first).status_code == 400  # single use, as every link
    confirmed = set(Subscription.objects.filter(confirmed_at__isnull=False).values_list("service"))
    assert confirmed == {(catalog[5].pk,), (catalog[6].pk,)}

    # One list a day: a request after it waits for the next day's, no attempt spent.
    late = _request(catalog[7], now=t0 + timedelta(minutes=30))
    assert late.confirmation_gathered
    [held] = _sweep(t0 + timedelta(minutes=40))
    assert held.outcome == Outcome.HELD
    row = late.subscription.confirmations.get()
    assert (row.status, row.attempts) == (Status.PENDING, 0)
    assert row.next_attempt_at == t0 + timedelta(minutes=10, days=1)
    assert len(mailoutbox) == 6


def test_a_burst_over_a_day_is_at_most_six_emails_a_day_and_nothing_is_lost(catalog, mailoutbox):
    t0 = timezone.now() - timedelta(days=3)
    sent_at = []
    for minute in range(0, 2 * 24 * 60, 5):
        now = t0 + timedelta(minutes=minute)
        if minute % 20 == 0 and minute // 20 < 30:
            _request(catalog[minute // 20], "victim@example.com", now=now)
        before = len(mailoutbox)
        _sweep(now)
        sent_at += [now] * (len(mailoutbox) - before)

    day_one = [at for at in sent_at if at < t0 + timedelta(days=1)]
    assert len(day_one) == 6  # five of their own, one list (of the sixth request alone)
    assert len(sent_at) == 7
    # The next day's list carries the 24 requests made after the first list went.
    assert sent_at[6] == sent_at[5] + timedelta(days=1)
    assert len(_confirm_paths(mailoutbox[6])) == 24
    links = [path for message in mailoutbox for path in _confirm_paths(message)]
    assert len(links) == len(set(links)) == 30
    assert set(ConfirmationDelivery.objects.values_list("status", flat=True)) == {Status.SENT}
    assert ConfirmationDelivery.objects.filter(gathered=True).count() == 25


def _fill_the_cap(catalog, now, email="ann@example.com") -> None:
    for service in catalog[-5:]:
        _request(service, email, now=now)
    _sweep(now)


def test_revoked_and_retired_requests_are_left_out_of_the_list(catalog, mailoutbox):
    t0 = timezone.now() - timedelta(hours=1)
    _fill_the_cap(catalog, t0)
    kept, revoked, retired, also_kept = (_request(s, now=t0) for s in catalog[:4])
    services.subscription_unsubscribe(subscription=revoked.subscription, now=t0)
    catalog[2].is_active = False
    catalog[2].save(update_fields=["is_active"])

    _sweep(t0 + timedelta(minutes=10))

    listed = mailoutbox[5]
    assert listed.subject == "Confirm OutageWatch alerts for 2 services"
    assert "Service 0" in listed.body and "Service 3" in listed.body
    assert "Service 1" not in listed.body and "Service 2" not in listed.body
    assert len(_confirm_paths(listed)) == 2
    rows = {
        row.subscription_id: row
        for row in ConfirmationDelivery.objects.filter(gathered=True).order_by("pk")
    }
    assert rows[kept.subscription.pk].status == rows[also_kept.subscription.pk].status == "sent"
    assert rows[revoked.subscription.pk].status == Status.SKIPPED
    assert "Revoked" in rows[revoked.subscription.pk].last_error
    assert rows[retired.subscription.pk].status == Status.SKIPPED
    assert "retired" in rows[retired.subscription.pk].last_error


def test_a_list_left_with_one_request_reads_as_its_own_confirmation(catalog, mailoutbox):
    t0 = timezone.now() - timedelta(hours=1)
    _fill_the_cap(catalog, t0)
    left, revoked = (_request(s, now=t0) for s in catalog[:2])
    services.subscription_unsubscribe(subscription=revoked.subscription, now=t0)

    _sweep(t0 + timedelta(minutes=10))

    message = mailoutbox[5]
    assert message.subject == "Confirm OutageWatch alerts for Service 0"
    assert len(_confirm_paths(message)) == 1
    assert left.subscription.confirmations.get().status == Status.SENT


def test_a_failing_list_is_retried_as_one_and_sent_once(
    catalog, mailoutbox, monkeypatch, settings, eager
):
    settings.ALERT_RETRY_BACKOFF_SECONDS = 30
    # In the past: the eager tasks that the sweep queues run on the real clock.
    t0 = timezone.now() - timedelta(hours=1)
    _fill_the_cap(catalog, t0)
    ids = [_request(s, now=t0).subscription.confirmations.get().pk for s in catalog[:2]]
    due = t0 + timedelta(minutes=10)
    with monkeypatch.context() as patch:
        _smtp_failing(patch, smtplib.SMTPServerDisconnected("down"))
        [failed, not_claimed] = _sweep(due)
    assert (failed.outcome, not_claimed.outcome) == (Outcome.RETRY, Outcome.NOT_CLAIMED)
    rows = ConfirmationDelivery.objects.filter(pk__in=ids)
    assert {(r.status, r.attempts, r.next_attempt_at) for r in rows} == {
        (Status.PENDING, 1, due + timedelta(seconds=30))
    }
    # A request joining meanwhile goes with them (the burst is one list).
    joined = _request(catalog[2], now=due + timedelta(seconds=10))

    assert services.alerts_sweep(now=due + timedelta(seconds=29)).confirmations == []
    swept = services.alerts_sweep(now=due + timedelta(seconds=30))

    assert swept.confirmations == ids
    assert len(mailoutbox) == 6
    assert len(_confirm_paths(mailoutbox[5])) == 3
    rows = ConfirmationDelivery.objects.filter(pk__in=ids)
    assert {(r.status, r.attempts) for r in rows} == {(Status.SENT, 2)}
    assert joined.subscription.confirmations.get().status == Status.SENT
    assert services.alerts_sweep(now=timezone.now() + timedelta(days=2)).confirmations == []
    assert len(mailoutbox) == 6


def test_a_channel_request_is_listed_with_its_management_link(catalog, client, mailoutbox):
    t0 = timezone.now() - timedelta(hours=1)
    _fill_the_cap(catalog, t0, "ops@example.com")
    webhook = _request(
        catalog[0],
        "ops@example.com",
        now=t0,
        channel=Subscription.Channel.WEBHOOK,
        url="https://hooks.example.com/outagewatch",
        countries=["FR"],
    )
    email = _request(catalog[1], "ops@example.com", now=t0)
    assert webhook.confirmation_gathered and email.confirmation_gathered

    _sweep(t0 + timedelta(minutes=10))

    listed = mailoutbox[5]
    assert "posted to your Webhook (https://hooks.example.com/…)" in listed.body
    assert "for France" in listed.body
    [manage] = MANAGE.findall(listed.body)
    [confirm] = _confirm_paths(listed)  # the webhook's goes through its page only
    assert client.post(manage, {"action": "confirm"}).status_code == 200
    webhook.subscription.refresh_from_db()
    email.subscription.refresh_from_db()
    assert webhook.subscription.confirmed_at is not None
    assert email.subscription.confirmed_at is None
    assert client.post(confirm).status_code == 200
    email.subscription.refresh_from_db()
    assert email.subscription.confirmed_at is not None


def test_a_variant_of_the_address_gets_its_own_list_a_day_later(catalog, mailoutbox):
    t0 = timezone.now() - timedelta(days=2)
    _fill_the_cap(catalog, t0)
    _request(catalog[0], "ann@example.com", now=t0)
    _request(catalog[1], "ann+x@example.com", now=t0)

    _sweep(t0 + timedelta(minutes=10))
    _sweep(t0 + timedelta(days=1, minutes=9))
    assert [m.to for m in mailoutbox[5:]] == [["ann@example.com"]]
    _sweep(t0 + timedelta(days=1, minutes=10))

    # The same mailbox to the cap, but each link to the address it was asked for.
    assert [m.to for m in mailoutbox[5:]] == [["ann@example.com"], ["ann+x@example.com"]]
    assert "Service 1" in mailoutbox[6].body and "Service 0" not in mailoutbox[6].body


def test_the_answers_are_the_same_whether_capped_or_not(
    catalog, api_client, client, eager, mailoutbox, django_capture_on_commit_callbacks
):
    answers = []
    for k, service in enumerate(catalog[:8]):
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(
                "/api/v1/subscriptions/",
                data=json.dumps({"email": "ann@example.com", "service": service.slug}),
                content_type="application/json",
                REMOTE_ADDR=f"192.0.2.{k + 1}",
            )
        body = response.json()
        assert body.pop("service") == service.slug
        answers.append((response.status_code, body))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][0] == 201

    pages = []
    for k, service in enumerate(catalog[8:16]):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/services/{service.slug}/subscribe/",
                {"email": "bob@example.com"},
                REMOTE_ADDR=f"198.51.100.{k + 1}",
                follow=True,
            )
        # The page itself names the service; the answer on it is the same.
        assert MESSAGE in html.unescape(response.content.decode())
        pages.append((response.status_code, response.redirect_chain))
    assert all(
        (status, [(url.replace(service.slug, "S"), code) for url, code in chain])
        == (
            pages[0][0],
            [(url.replace(catalog[8].slug, "S"), code) for url, code in pages[0][1]],
        )
        for service, (status, chain) in zip(catalog[8:16], pages, strict=True)
    )
    assert len(mailoutbox) == 10  # five each; the rest waits for the lists
    assert ConfirmationDelivery.objects.filter(gathered=True).count() == 6


def test_asking_again_updates_the_waiting_link_and_a_list_in_flight_is_not_sent_twice(
    catalog, mailoutbox
):
    t0 = timezone.now() - timedelta(hours=1)
    _fill_the_cap(catalog, t0)
    first = _request(catalog[0], now=t0, countries=["DE"])
    second = _request(catalog[1], now=t0)
    again = _request(catalog[0], now=t0 + timedelta(minutes=5), countries=["FR"])
    assert again.confirmation_gathered and not again.confirmation_queued
    row, other = (r.subscription.confirmations.get() for r in (first, second))
    # Still one link, with the new countries, due with the burst (not sooner, not later).
    assert (row.countries, row.next_attempt_at) == (["FR"], t0 + timedelta(minutes=10))

    # Another worker is sending this mailbox's list (a fresh claim): nothing more goes.
    due = t0 + timedelta(minutes=10)
    ConfirmationDelivery.objects.filter(pk=other.pk).update(status=Status.SENDING, claimed_at=due)
    result = services.confirmation_delivery_send(confirmation_id=row.pk, now=due)
    assert result.outcome == Outcome.NOT_CLAIMED
    assert len(mailoutbox) == 5
    # That worker died: once its claim is stale, one list takes both.
    later = due + timedelta(hours=1)
    assert [r.outcome for r in _sweep(later)] == [Outcome.SENT, Outcome.NOT_CLAIMED]
    assert len(mailoutbox) == 6 and len(_confirm_paths(mailoutbox[5])) == 2
    assert "France" in mailoutbox[5].body
