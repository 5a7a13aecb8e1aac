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
    settings.SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS = 20


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
    # Single use, as every link: followed again it only says the address is subscribed.
    assert b"You already get Service 5 alerts" in client.post(first).content
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
    t0 = timezone.now() - timedelta(days=4)
    sent_at = []
    for minute in range(0, 3 * 24 * 60, 5):
        now = t0 + timedelta(minutes=minute)
        if minute % 20 == 0 and minute // 20 < 30:
            _request(catalog[minute // 20], "victim@example.com", now=now)
        before = len(mailoutbox)
        _sweep(now)
        sent_at += [now] * (len(mailoutbox) - before)

    day_one = [at for at in sent_at if at < t0 + timedelta(days=1)]
    assert len(day_one) == 6  # five of their own, one list (of the sixth request alone)
    assert len(sent_at) == 8
    # The 24 requests made after the first list went: 20 in the next day's (a list's most,
    # the oldest), the other 4 a day later.
    assert sent_at[6] == sent_at[5] + timedelta(days=1)
    assert sent_at[7] == sent_at[6] + timedelta(days=1)
    assert len(_confirm_paths(mailoutbox[6])) == 20
    assert "- Service 6:" in mailoutbox[6].body and "- Service 25:" in mailoutbox[6].body
    assert "- Service 26:" not in mailoutbox[6].body and "- Service 26:" in mailoutbox[7].body
    assert "4 more requests for this address will follow" in mailoutbox[6].body
    assert len(_confirm_paths(mailoutbox[7])) == 4
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
    # In the past: the eager tasks that the sweep queues run on the real clock. On a whole
    # second: retries come due on the second.
    t0 = timezone.now().replace(microsecond=0) - timedelta(hours=1)
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
    # A noun in a sentence, as in the single email; "Webhook" is the form's label.
    assert "posted to your webhook (https://hooks.example.com/…)" in listed.body
    assert "Webhook" not in listed.body and "Webhook" not in listed.alternatives[0][0]
    assert "for France" in listed.body
    [manage] = MANAGE.findall(listed.body)
    [confirm] = _confirm_paths(listed)  # the webhook's goes through its page only
    assert client.post(manage, {"action": "confirm"}, follow=True).status_code == 200
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


def test_a_list_holds_at_most_the_cap_and_the_rest_follow_a_day_later(
    catalog, client, mailoutbox, settings
):
    """Anyone can type anyone's address: uncapped, one list could carry thousands of links."""
    settings.SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS = 3
    t0 = timezone.now() - timedelta(days=3)
    _fill_the_cap(catalog, t0)
    for k, service in enumerate(catalog[:6]):  # two lists' worth: the most that may wait
        _request(service, now=t0 + timedelta(seconds=k))
    due = t0 + timedelta(minutes=11)

    assert [r.outcome for r in _sweep(due)] == [Outcome.SENT] + [Outcome.NOT_CLAIMED] * 5
    assert len(mailoutbox) == 6
    listed = mailoutbox[5]
    assert listed.subject == "Confirm OutageWatch alerts for 3 services"
    assert len(_confirm_paths(listed)) == 3
    # The oldest first: their links expire first.
    assert all(f"- Service {k}:" in listed.body for k in range(3))
    assert not any(f"Service {k}:" in listed.body for k in range(3, 6))
    follow = "3 more requests for this address will follow in another email like this one"
    assert follow in listed.body and follow in listed.alternatives[0][0]
    rows = ConfirmationDelivery.objects.filter(gathered=True).order_by("created_at")
    assert [(r.status, r.attempts) for r in rows] == [(Status.SENT, 1)] * 3 + [
        (Status.PENDING, 0)
    ] * 3
    assert {r.next_attempt_at for r in rows[3:]} == {due + timedelta(days=1)}
    # The list that left made room for one more.
    assert _request(catalog[6], now=due + timedelta(minutes=1)).confirmation_gathered

    held = _sweep(due + timedelta(days=1, seconds=-1))  # the new one, due: one list a day
    assert [r.outcome for r in held] == [Outcome.HELD] and len(mailoutbox) == 6
    _sweep(due + timedelta(days=1))
    assert len(mailoutbox) == 7
    assert all(f"- Service {k}:" in mailoutbox[6].body for k in range(3, 6))
    assert "1 more request for this address will follow" in mailoutbox[6].body
    _sweep(due + timedelta(days=2))
    # The last one alone reads as its own confirmation.
    assert mailoutbox[7].subject == "Confirm OutageWatch alerts for Service 6"

    links = [path for message in mailoutbox[5:] for path in _confirm_paths(message)]
    assert len(links) == len(set(links)) == 7
    for link in links:
        assert client.post(link).status_code == 200
    confirmed = Subscription.objects.filter(confirmed_at__isnull=False, service__in=catalog[:7])
    assert confirmed.count() == 7


def test_with_two_lists_waiting_a_request_is_refused_and_changes_nothing(
    catalog, mailoutbox, settings
):
    """Kept past that, a link would wait so long that it expired (and was purged) unsent."""
    settings.SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS = 2
    assert services.gathered_waiting_max() == 4
    t0 = timezone.now() - timedelta(days=2)
    _fill_the_cap(catalog, t0)
    asked = [_request(service, now=t0) for service in catalog[:4]]
    assert all(r.confirmation_gathered for r in asked)

    with pytest.raises(services.ConfirmationsWaitingFull) as refused:
        _request(catalog[4], "Ann+news@example.com", now=t0 + timedelta(minutes=1))
    assert refused.value.limit == 4
    assert refused.value.retry_at == t0 + timedelta(minutes=10)  # the next list leaves then
    assert not Subscription.objects.filter(service=catalog[4]).exists()
    # One already mailed, asked again with other countries: rolled back, all of it.
    mailed = Subscription.objects.get(service=catalog[-1])
    rows = ConfirmationDelivery.objects.count()
    with pytest.raises(services.ConfirmationsWaitingFull):
        _request(catalog[-1], now=t0 + timedelta(minutes=20), countries=["FR"])
    again = Subscription.objects.get(pk=mailed.pk)
    assert (again.countries, again.confirmation_sent_at) == ([], t0)
    assert ConfirmationDelivery.objects.count() == rows
    # Asking again for one that waits adds nothing, so it is not refused.
    assert _request(
        catalog[0], now=t0 + timedelta(minutes=2), countries=["FR"]
    ).confirmation_gathered

    _sweep(t0 + timedelta(minutes=10))  # the first list takes two: room for two more
    assert len(mailoutbox) == 6 and len(_confirm_paths(mailoutbox[5])) == 2
    assert _request(catalog[4], now=t0 + timedelta(minutes=11)).confirmation_gathered
    assert _request(catalog[5], now=t0 + timedelta(minutes=12)).confirmation_gathered
    with pytest.raises(services.ConfirmationsWaitingFull) as refused:
        _request(catalog[6], now=t0 + timedelta(minutes=13))
    # A list went today: the next one, a day after it, makes room.
    assert refused.value.retry_at == t0 + timedelta(minutes=10, days=1)


def test_the_api_and_the_form_say_so_when_a_request_is_refused(
    catalog, api_client, client, eager, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS = 1
    now = timezone.now()
    _fill_the_cap(catalog, now)
    _request(catalog[0], now=now)
    _request(catalog[1], now=now)
    before = (Subscription.objects.count(), ConfirmationDelivery.objects.count())

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/subscriptions/",
            data=json.dumps({"email": "ann@example.com", "service": catalog[2].slug}),
            content_type="application/json",
            REMOTE_ADDR="192.0.2.1",
        )
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "confirmations_waiting"
    assert body["detail"].startswith("2 sign-ups for this address are already waiting")
    assert "this one was not taken, and nothing was changed" in body["detail"]
    assert 60 <= int(response["Retry-After"]) <= 600

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            f"/services/{catalog[3].slug}/subscribe/",
            {"email": "Ann+news@example.com"},  # the same mailbox
            REMOTE_ADDR="198.51.100.1",
        )
    assert page.status_code == 429
    text = html.unescape(page.content.decode())
    assert "2 sign-ups for this address are already waiting" in text
    assert MESSAGE not in text
    assert (Subscription.objects.count(), ConfirmationDelivery.objects.count()) == before
    assert len(mailoutbox) == 5


def test_a_capped_list_over_real_smtp_says_what_follows_and_how_many_emails_can_come(
    catalog, settings, smtp_sink
):
    settings.SUBSCRIPTION_CONFIRM_GATHER_MAX_LINKS = 2
    t0 = timezone.now() - timedelta(hours=1)
    _fill_the_cap(catalog, t0, "ops@example.com")
    hook = {"channel": Subscription.Channel.WEBHOOK, "url": "https://hooks.example.com/ow"}
    _request(catalog[0], "ops@example.com", now=t0, **hook)
    for service in catalog[1:3]:
        _request(service, "ops@example.com", now=t0)
    _sweep(t0 + timedelta(minutes=10))
    messages = smtp_sink.wait_for("ops@example.com", 6)

    [listed] = [m for m in messages if m["Subject"] == "Confirm OutageWatch alerts for 2 services"]
    single = messages[0]
    bodies = [
        m.get_body((kind,)).get_content() for m in (single, listed) for kind in ("plain", "html")
    ]
    for body in bodies:
        # Five of their own a day and one list: true even for an address someone else typed.
        assert "at most 6 emails like this one a day to this address" in body
        assert "nothing is sent" not in body and "will not write again" not in body
    for body in bodies[2:]:
        assert "1 more request for this address will follow" in body
        assert "your webhook (" in body and "Webhook" not in body
