"""Alert deliveries: who gets what, exactly once, retries, bounces, flapping, the sweeper.

Clocks are pinned: every call that depends on the time gets ``now=`` explicitly.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from alerts import selectors, services
from alerts.channels import TransportError
from alerts.channels.email import EmailTransport
from alerts.models import AlertDelivery, Subscription
from alerts.services import Outcome
from alerts.services.outbox import claim
from alerts.tasks import alert_delivery_send_task, alerts_sweep_task
from detection.models import Outage, OutageEvent

pytestmark = pytest.mark.django_db

Kind = AlertDelivery.Kind
Status = AlertDelivery.Status


def _schedule(outage: Outage, kind: str, capture) -> int:
    with capture() as callbacks, transaction.atomic():
        count = services.alerts_notify(outage=outage, change=kind)
    assert len(callbacks) == (1 if count else 0)  # queued once, after commit
    return count


def _resolve(outage: Outage, minutes_ago: int = 60) -> Outage:
    outage.status = Outage.Status.RESOLVED
    outage.resolved_at = timezone.now() - timedelta(minutes=minutes_ago)
    outage.save()
    return outage


def _send(delivery: AlertDelivery, **kw) -> services.SendResult:
    return services.alert_delivery_send(delivery_id=delivery.pk, **kw)


def test_schedule_picks_confirmed_active_subscribers_whose_countries_match(
    subscriber, outage, django_capture_on_commit_callbacks
):
    everywhere = subscriber("all@example.com")
    germany = subscriber("de@example.com", ["DE"])
    subscriber("fr@example.com", ["FR"])
    subscriber("new@example.com", confirmed_at=None)
    subscriber("gone@example.com", unsubscribed_at=timezone.now())
    subscriber("bounced@example.com", disabled_at=timezone.now())

    in_germany = outage(["DE", "AT"])
    assert _schedule(in_germany, Kind.OPENED, django_capture_on_commit_callbacks) == 2
    rows = AlertDelivery.objects.filter(outage=in_germany)
    assert {d.subscription_id for d in rows} == {everywhere.pk, germany.pk}
    assert {d.status for d in rows} == {Status.PENDING}

    _resolve(in_germany)  # one active outage per service
    overall = outage([], minutes_ago=300)
    assert _schedule(overall, Kind.OPENED, django_capture_on_commit_callbacks) == 3


def test_scheduling_twice_creates_no_second_delivery(
    subscriber, outage, django_capture_on_commit_callbacks
):
    subscriber()
    o = outage()
    _schedule(o, Kind.OPENED, django_capture_on_commit_callbacks)
    _schedule(o, Kind.OPENED, django_capture_on_commit_callbacks)
    assert AlertDelivery.objects.count() == 1


def test_nothing_is_queued_when_the_transaction_rolls_back(
    subscriber, outage, django_capture_on_commit_callbacks
):
    subscriber()
    o = outage()
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.alerts_notify(outage=o, change=Kind.OPENED)
        raise RuntimeError("detector failed")
    assert callbacks == [] and AlertDelivery.objects.count() == 0


def test_opened_email_says_what_where_since_when_and_links(
    subscriber, outage, mailoutbox, settings, midday
):
    settings.SITE_URL = "https://ow.example"
    subscriber()
    o = outage(["DE"])
    services.alerts_notify(outage=o, change=Kind.OPENED)
    delivery = AlertDelivery.objects.get()

    assert _send(delivery).outcome == Outcome.SENT

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 1)
    assert delivery.sent_at is not None
    [message] = mailoutbox
    assert (
        message.subject
        == f"Acme Cloud: problems detected in Germany since {o.started_at:%H:%M} UTC"
    )
    text, html = message.body, message.alternatives[0][0]
    for body in (text, html):
        assert "Germany" in body
        assert f"{o.started_at:%H:%M} UTC" in body
        assert "At the peak: about 42 reports a minute, where about 3 are normal." in body
        assert "expected" not in body and "rule" not in body and "score" not in body
        assert "Login (40)" in body and "App (7)" in body
        assert "https://ow.example/services/acme/" in body
        assert f"https://ow.example/outages/{o.pk}/" in body
        assert "https://ow.example/subscriptions/unsubscribe/" in body
        assert "60 minutes" in body
    assert message.extra_headers["List-Unsubscribe"].startswith(
        "<https://ow.example/subscriptions/unsubscribe/"
    )
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_same_delivery_sent_twice_is_one_email(subscriber, outage, mailoutbox):
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    delivery = AlertDelivery.objects.get()

    assert _send(delivery).outcome == Outcome.SENT
    assert _send(delivery).outcome == Outcome.NOT_CLAIMED
    assert len(mailoutbox) == 1


def test_the_task_run_twice_sends_once(subscriber, outage, mailoutbox, eager):
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    delivery = AlertDelivery.objects.get()

    first = alert_delivery_send_task.apply(kwargs={"delivery_id": delivery.pk}).get()
    second = alert_delivery_send_task.apply(kwargs={"delivery_id": delivery.pk}).get()
    assert (first, second) == ("sent", "not_claimed")
    assert len(mailoutbox) == 1


def test_a_claim_in_progress_is_left_alone_until_it_is_stale(
    subscriber, outage, mailoutbox, settings
):
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    now = timezone.now()
    AlertDelivery.objects.update(status=Status.SENDING, claimed_at=now)
    delivery = AlertDelivery.objects.get()

    assert _send(delivery, now=now + timedelta(seconds=5)).outcome == Outcome.NOT_CLAIMED
    later = now + timedelta(seconds=settings.ALERT_SENDING_STALE_SECONDS + 1)
    assert _send(delivery, now=later).outcome == Outcome.SENT
    assert len(mailoutbox) == 1


def _failing(monkeypatch, exc: BaseException) -> None:
    def send(self, fail_silently=False):
        raise exc

    monkeypatch.setattr(EmailMultiAlternatives, "send", send)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        smtplib.SMTPServerDisconnected("gone"),
        smtplib.SMTPRecipientsRefused({"ann@example.com": (450, b"Mailbox busy")}),
        TimeoutError("timed out"),
        # The relay's configuration, not the subscriber's mailbox: retried, never disabling.
        smtplib.SMTPRecipientsRefused({"ann@example.com": (554, b"5.7.1 Relay access denied")}),
        smtplib.SMTPRecipientsRefused({"ann@example.com": (550, b"5.7.1 Relaying denied")}),
        smtplib.SMTPDataError(554, b"Message rejected: Email address is not verified."),
        smtplib.SMTPSenderRefused(553, b"5.7.1 Sender address rejected", "alerts@localhost"),
    ],
)
def test_transient_smtp_failures_are_recorded_and_retried_with_backoff(
    subscriber, outage, monkeypatch, settings, exc
):
    settings.ALERT_RETRY_BACKOFF_SECONDS = 30
    now = timezone.now().replace(microsecond=0)  # retries come due on the second
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED, now=now)
    delivery = AlertDelivery.objects.get()
    _failing(monkeypatch, exc)

    first = _send(delivery, now=now)
    early = _send(delivery, now=now + timedelta(seconds=29))  # a duplicate task, too soon
    second = _send(delivery, now=now + timedelta(seconds=30))

    assert (first.outcome, first.delay) == (Outcome.RETRY, 30)
    assert early.outcome == Outcome.NOT_CLAIMED
    assert (second.outcome, second.delay) == (Outcome.RETRY, 60)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.PENDING, 2)
    assert delivery.next_attempt_at == now + timedelta(seconds=90)
    # In plain words (ops tester F10: "ConnectionRefusedError: [Errno 111] ...").
    assert "mail relay" in delivery.last_error or "could not connect" in delivery.last_error
    assert "Errno" not in delivery.last_error and type(exc).__name__ not in delivery.last_error
    assert Subscription.objects.get().disabled_at is None


def test_retries_stop_at_the_maximum(subscriber, outage, monkeypatch, settings):
    settings.ALERT_MAX_ATTEMPTS = 3
    now = timezone.now()
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED, now=now)
    delivery = AlertDelivery.objects.get()
    _failing(monkeypatch, ConnectionRefusedError(111, "refused"))

    outcomes = [_send(delivery, now=now + timedelta(hours=k)).outcome for k in range(4)]

    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.FAILED, Outcome.NOT_CLAIMED]
    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED and "Gave up after 3 attempts" in delivery.last_error


def test_the_task_leaves_the_retry_to_the_row_and_the_sweeper(
    subscriber, outage, monkeypatch, settings, eager
):
    # No self.retry(countdown=...): a countdown task sits unacked in the worker, and kombu's
    # restore of it after a Redis restart killed the worker (issue 11).
    settings.ALERT_RETRY_BACKOFF_SECONDS = 30
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    delivery = AlertDelivery.objects.get()
    _failing(monkeypatch, smtplib.SMTPServerDisconnected("down"))
    queued = []
    monkeypatch.setattr(
        alert_delivery_send_task, "apply_async", lambda *a, **kw: queued.append((a, kw))
    )

    assert alert_delivery_send_task.apply(kwargs={"delivery_id": delivery.pk}).get() == "retry"

    assert queued == []  # nothing re-queued itself
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.PENDING, 1)
    due = delivery.next_attempt_at
    assert selectors.deliveries_due(now=due - timedelta(seconds=1)) == []
    assert selectors.deliveries_due(now=due) == [delivery.pk]


def test_the_sweeper_sends_a_retry_when_it_is_due(
    subscriber, outage, monkeypatch, mailoutbox, settings, eager
):
    settings.ALERT_RETRY_BACKOFF_SECONDS = 30
    # In the past: the eager task that the sweep queues runs on the real clock.
    now = timezone.now() - timedelta(minutes=5)
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED, now=now)
    delivery = AlertDelivery.objects.get()
    with monkeypatch.context() as patch:
        _failing(patch, ConnectionRefusedError(111, "refused"))
        assert _send(delivery, now=now).outcome == Outcome.RETRY

    assert services.alerts_sweep(now=now + timedelta(seconds=29)).deliveries == []
    assert services.alerts_sweep(now=now + timedelta(seconds=30)).deliveries == [delivery.pk]
    assert len(mailoutbox) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SENT, 2)
    assert delivery.last_error == ""  # a sent row read as a failure in the admin (F10)


@pytest.mark.parametrize(
    "reply",
    [
        (550, b"5.1.1 <ann@example.com>: Recipient address rejected: User unknown"),
        (550, b"5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address"),
        (554, b"5.2.1 The email account that you tried to reach is disabled."),
    ],
)
def test_a_mailbox_that_does_not_exist_is_disabled_not_retried(
    subscriber, outage, monkeypatch, mailoutbox, reply
):
    sub = subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    delivery = AlertDelivery.objects.get()
    _failing(monkeypatch, smtplib.SMTPRecipientsRefused({sub.email: reply}))

    assert _send(delivery).outcome == Outcome.FAILED

    delivery.refresh_from_db()
    sub.refresh_from_db()
    assert delivery.status == Status.FAILED and delivery.attempts == 1
    assert sub.disabled_at is not None and str(reply[0]) in sub.disabled_reason
    assert selectors.subscription_ids_for_outage(outage=delivery.outage) == []


def test_a_bare_550_fails_the_message_and_counts_towards_disabling(
    subscriber, outage, monkeypatch, settings
):
    # Without an enhanced code a 550 may be "no such user" or a policy refusal: the message
    # fails for good, and the address goes only after ALERT_CHANNEL_MAX_FAILURES in a row.
    settings.ALERT_CHANNEL_MAX_FAILURES = 2
    settings.ALERT_COOLDOWN_MINUTES = 0
    sub = subscriber()
    _failing(monkeypatch, smtplib.SMTPRecipientsRefused({sub.email: (550, b"No such user")}))
    for expected_failures in (1, 2):
        o = outage()
        services.alerts_notify(outage=o, change=Kind.OPENED)
        assert _send(AlertDelivery.objects.get(outage=o)).outcome == Outcome.FAILED
        sub.refresh_from_db()
        assert sub.failures == expected_failures
        assert (sub.disabled_at is None) == (expected_failures < 2)
        _resolve(o, minutes_ago=1)
    assert "2 messages in a row failed" in sub.disabled_reason


@pytest.mark.parametrize(
    "reply",
    [(450, b"4.2.1 <ann.lee@example.com>: mailbox busy"), (550, b"5.1.1 No such user")],
)
def test_the_subscribers_address_stays_out_of_logs_and_the_stored_error(
    subscriber, outage, monkeypatch, caplog, reply
):
    # smtplib names the refused address (its dict's key) and servers echo it in the reply:
    # the text goes to warning logs and to last_error, so the address is left out of both.
    sub = subscriber("ann.lee@example.com")
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    delivery = AlertDelivery.objects.get()
    _failing(monkeypatch, smtplib.SMTPRecipientsRefused({sub.email: reply}))

    with caplog.at_level("INFO"):
        _send(delivery)

    delivery.refresh_from_db()
    sub.refresh_from_db()
    stored = delivery.last_error + sub.disabled_reason
    assert "refused the address" in delivery.last_error and str(reply[0]) in delivery.last_error
    assert "ann.lee" not in stored and "ann.lee" not in caplog.text
    if b"@" in reply[1]:
        assert "<address>" in delivery.last_error


def test_a_misconfigured_relay_gives_up_on_the_message_but_keeps_every_subscriber(
    subscriber, outage, monkeypatch, settings
):
    settings.ALERT_MAX_ATTEMPTS = 2
    settings.ALERT_CHANNEL_MAX_FAILURES = 1
    now = timezone.now()
    subs = [subscriber("ann@example.com"), subscriber("bob@example.com")]
    _failing(monkeypatch, smtplib.SMTPDataError(554, b"5.7.1 Message rejected"))
    services.alerts_notify(outage=outage(), change=Kind.OPENED, now=now)

    for delivery in AlertDelivery.objects.all():
        assert _send(delivery, now=now).outcome == Outcome.RETRY
        assert _send(delivery, now=now + timedelta(hours=1)).outcome == Outcome.FAILED

    for sub in subs:
        sub.refresh_from_db()
        assert (sub.disabled_at, sub.failures) == (None, 0)


def test_resolved_email_goes_at_once_and_only_to_those_told(subscriber, outage, mailoutbox):
    told = subscriber("told@example.com")
    o = outage(minutes_ago=120)
    services.alerts_notify(outage=o, change=Kind.OPENED)
    _send(AlertDelivery.objects.get())
    subscriber("late@example.com")  # confirmed after the outage began

    _resolve(o, minutes_ago=15)  # the detector resolves after 15 quiet minutes
    assert services.alerts_notify(outage=o, change=Kind.RESOLVED) == 1
    resolved = AlertDelivery.objects.get(kind=Kind.RESOLVED)
    assert resolved.subscription_id == told.pk
    # Due now, not after the reopen window: a re-fire is told in the same thread instead.
    assert selectors.deliveries_due(now=timezone.now()) == [resolved.pk]

    assert _send(resolved).outcome == Outcome.SENT
    assert len(mailoutbox) == 2
    message = mailoutbox[1]
    assert message.subject.startswith("Resolved: Acme Cloud is working again")
    assert "ended at" in message.body and "Login (40)" in message.body
    assert "If the problems return before " in message.body
    assert ", we will tell you in this thread" in message.body
    assert "/subscriptions/unsubscribe/" in message.alternatives[0][0]


def _reopen(o: Outage) -> Outage:
    """What detection does when the outage re-fires within the reopen window."""
    Outage.objects.filter(pk=o.pk).update(status=Outage.Status.ACTIVE, resolved_at=None)
    OutageEvent.objects.create(
        outage=o, at=timezone.now(), kind=OutageEvent.Kind.REOPENED, message=""
    )
    o.refresh_from_db()
    return o


def test_a_reopened_outage_is_told_as_problems_again_in_the_same_thread(
    subscriber, outage, mailoutbox
):
    subscriber()
    o = outage(minutes_ago=120)
    for change in (Kind.OPENED, Kind.RESOLVED, Kind.REOPENED, Kind.RESOLVED):
        if change == Kind.RESOLVED:
            _resolve(o, minutes_ago=1)
        elif change == Kind.REOPENED:
            o = _reopen(o)
        services.alerts_notify(outage=o, change=change)
        [due] = selectors.deliveries_due(now=timezone.now())
        assert services.alert_delivery_send(delivery_id=due).outcome == Outcome.SENT

    kinds = list(AlertDelivery.objects.order_by("pk").values_list("kind", "episode"))
    assert kinds == [("opened", 0), ("resolved", 0), ("reopened", 1), ("resolved", 1)]
    detected, resolved, again, resolved_again = mailoutbox
    assert "problems detected" in detected.subject
    assert again.subject.startswith("Acme Cloud: problems again")
    assert "problems detected" not in again.subject and "are back" in again.body
    root = detected.extra_headers["Message-ID"]
    assert root.startswith(f"<outage-{o.pk}.")
    for reply in (resolved, again, resolved_again):
        assert reply.extra_headers["In-Reply-To"] == root
        assert reply.extra_headers["References"] == root
        assert reply.extra_headers["Message-ID"] != root
    # Notified twice about the same change, nothing more is sent.
    services.alerts_notify(outage=o, change=Kind.RESOLVED)
    assert selectors.deliveries_due(now=timezone.now()) == []


def test_a_resolved_email_not_sent_before_the_reopen_is_dropped(subscriber, outage, mailoutbox):
    subscriber()
    o = outage(minutes_ago=120)
    services.alerts_notify(outage=o, change=Kind.OPENED)
    _send(AlertDelivery.objects.get())
    _resolve(o, minutes_ago=1)
    services.alerts_notify(outage=o, change=Kind.RESOLVED)
    # SMTP is down until after the re-fire: the subscriber never hears of the lull...
    o = _reopen(o)
    services.alerts_notify(outage=o, change=Kind.REOPENED)

    resolved = AlertDelivery.objects.get(kind=Kind.RESOLVED)
    assert resolved.status == Status.SKIPPED and "came back" in resolved.last_error
    assert not AlertDelivery.objects.filter(kind=Kind.REOPENED).exists()
    # ...and hears once that it is over, when it is.
    _resolve(o, minutes_ago=0)
    services.alerts_notify(outage=o, change=Kind.RESOLVED)
    [due] = selectors.deliveries_due(now=timezone.now())
    assert _send(AlertDelivery.objects.get(pk=due)).outcome == Outcome.SENT
    assert [m.subject.split(":")[0] for m in mailoutbox] == ["Acme Cloud", "Resolved"]


def test_a_subscriber_whose_alert_came_too_late_hears_of_the_reopened_outage(
    subscriber, outage, mailoutbox
):
    subscriber()
    o = outage(minutes_ago=120)
    services.alerts_notify(outage=o, change=Kind.OPENED)
    _resolve(o, minutes_ago=1)  # over before its "detected" could leave (SMTP down)
    assert _send(AlertDelivery.objects.get()).outcome == Outcome.SKIPPED
    services.alerts_notify(outage=o, change=Kind.RESOLVED)  # nobody told: nothing to end

    o = _reopen(o)
    services.alerts_notify(outage=o, change=Kind.REOPENED)
    [due] = selectors.deliveries_due(now=timezone.now())
    assert _send(AlertDelivery.objects.get(pk=due)).outcome == Outcome.SENT
    [message] = mailoutbox
    assert "problems detected" in message.subject
    # Told twice about the reopening: still one "detected".
    services.alerts_notify(outage=o, change=Kind.REOPENED)
    assert selectors.deliveries_due(now=timezone.now()) == []


def test_a_resolved_email_claimed_when_the_outage_reopens_is_not_sent(subscriber, outage):
    subscriber()
    o = outage(minutes_ago=120)
    services.alerts_notify(outage=o, change=Kind.OPENED)
    _send(AlertDelivery.objects.get())
    _resolve(o, minutes_ago=1)
    services.alerts_notify(outage=o, change=Kind.RESOLVED)
    resolved = AlertDelivery.objects.get(kind=Kind.RESOLVED)
    # A worker claimed it; the re-fire commits before it decides.
    AlertDelivery.objects.filter(pk=resolved.pk).update(status=Status.SENDING)
    o = _reopen(o)
    services.alerts_notify(outage=o, change=Kind.REOPENED)
    again = AlertDelivery.objects.get(kind=Kind.REOPENED)
    assert _send(again).outcome == Outcome.HELD  # waits for the message before it

    AlertDelivery.objects.filter(pk=resolved.pk).update(status=Status.SKIPPED)
    later = timezone.now() + timedelta(minutes=2)
    result = _send(again, now=later)
    assert result.outcome == Outcome.SKIPPED and "not told it had ended" in result.reason


def test_no_opened_email_once_the_outage_is_over_and_no_resolved_either(
    subscriber, outage, mailoutbox, settings
):
    subscriber()
    o = outage()
    services.alerts_notify(outage=o, change=Kind.OPENED)
    _resolve(o)
    services.alerts_notify(outage=o, change=Kind.RESOLVED)

    assert _send(AlertDelivery.objects.get(kind=Kind.OPENED)).outcome == Outcome.SKIPPED
    assert _send(AlertDelivery.objects.get(kind=Kind.RESOLVED)).outcome == Outcome.SKIPPED
    assert mailoutbox == []
    assert "over before" in AlertDelivery.objects.get(kind=Kind.OPENED).last_error


def test_unsubscribing_stops_queued_alerts(subscriber, outage, mailoutbox):
    sub = subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    services.subscription_unsubscribe(subscription=sub)

    assert _send(AlertDelivery.objects.get()).outcome == Outcome.SKIPPED
    assert mailoutbox == []


def test_a_flapping_service_is_held_back_by_the_cooldown(subscriber, outage, mailoutbox, settings):
    settings.ALERT_COOLDOWN_MINUTES = 60
    subscriber()
    first = outage(minutes_ago=50)
    services.alerts_notify(outage=first, change=Kind.OPENED)
    _send(AlertDelivery.objects.get(outage=first))
    AlertDelivery.objects.filter(outage=first).update(
        sent_at=timezone.now() - timedelta(minutes=45)
    )
    _resolve(first, minutes_ago=40)

    # Problems again 35 minutes later: a new outage inside the cool-down.
    second = outage(minutes_ago=5)
    services.alerts_notify(outage=second, change=Kind.OPENED)
    delivery = AlertDelivery.objects.get(outage=second)
    held = _send(delivery)
    assert held.outcome == Outcome.HELD and 14 * 60 < held.delay <= 15 * 60 + 1
    assert len(mailoutbox) == 1

    # Still going when the cool-down ends: it goes out, saying why it is late.
    assert _send(delivery, now=timezone.now() + timedelta(minutes=16)).outcome == Outcome.SENT
    assert len(mailoutbox) == 2
    body = mailoutbox[1].body
    assert "Problems came back" in body and f"{first.started_at:%H:%M} UTC" in body


def test_a_flap_that_ends_inside_the_cooldown_sends_nothing(
    subscriber, outage, mailoutbox, settings
):
    subscriber()
    first = outage(minutes_ago=30)
    services.alerts_notify(outage=first, change=Kind.OPENED)
    _send(AlertDelivery.objects.get(outage=first))
    _resolve(first, minutes_ago=25)
    second = outage(minutes_ago=5)
    services.alerts_notify(outage=second, change=Kind.OPENED)
    assert _send(AlertDelivery.objects.get(outage=second)).outcome == Outcome.HELD

    _resolve(second, minutes_ago=1)
    services.alerts_notify(outage=second, change=Kind.RESOLVED)
    later = timezone.now() + timedelta(hours=1)
    assert _send(AlertDelivery.objects.get(outage=second, kind=Kind.OPENED), now=later).outcome == (
        Outcome.SKIPPED
    )
    resolved = AlertDelivery.objects.get(outage=second, kind=Kind.RESOLVED)
    assert _send(resolved, now=later).outcome == Outcome.SKIPPED
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("crash", ["worker died", "relay timed out"])
def test_a_detected_alert_that_may_have_been_sent_counts_for_the_cooldown(
    subscriber, outage, mailoutbox, settings, monkeypatch, crash
):
    """A "detected" that may have reached the subscriber (its worker died while sending it,
    or the relay timed out after taking it) and was then skipped (the outage was over when
    it was taken over or retried) counted for nothing: the cool-down looked only for alerts
    marked sent, and the next outage of the service, minutes later, sent its own at once."""
    settings.ALERT_COOLDOWN_MINUTES = 60
    subscriber()
    now = timezone.now()
    first = outage(minutes_ago=40)
    services.alerts_notify(outage=first, change=Kind.OPENED)
    earlier = AlertDelivery.objects.get(outage=first)
    AlertDelivery.objects.filter(pk=earlier.pk).update(next_attempt_at=first.detected_at)
    if crash == "worker died":  # claimed, then nothing: the sweeper takes the claim over
        claim(AlertDelivery, pk=earlier.pk, now=now - timedelta(minutes=30))
    else:
        monkeypatch.setattr(EmailTransport, "send", _timed_out)
        assert _send(earlier, now=now - timedelta(minutes=30)).outcome == Outcome.RETRY
        monkeypatch.undo()
    _resolve(first, minutes_ago=20)
    assert _send(earlier, now=now).outcome == Outcome.SKIPPED
    assert AlertDelivery.objects.get(pk=earlier.pk).maybe_sent

    second = outage(minutes_ago=5)
    services.alerts_notify(outage=second, change=Kind.OPENED)
    delivery = AlertDelivery.objects.get(outage=second)
    held = _send(delivery)
    assert held.outcome == Outcome.HELD
    assert mailoutbox == []

    # Still going when the cool-down ends: it goes out late, and says no more than it knows
    # of the earlier one.
    assert _send(delivery, now=now + timedelta(minutes=61)).outcome == Outcome.SENT
    body = mailoutbox[0].body
    assert "Problems came back" in body and "emailed you then" not in body
    assert "may have gone out then" in body


def _timed_out(self, notice):
    raise TransportError("The relay did not answer.", permanent=False, maybe_delivered=True)


def test_the_sweeper_sends_what_is_due_and_stale_claims_but_respects_backoff(
    subscriber, outage, settings
):
    now = timezone.now()
    o = outage()
    rows = {}
    for name, fields in {
        "due": {"next_attempt_at": now},
        "lost_long_ago": {"next_attempt_at": now - timedelta(hours=2)},
        "backing_off": {"attempts": 2, "next_attempt_at": now + timedelta(seconds=30)},
        "waiting_for_event": {"next_attempt_at": None},
        "claimed": {"status": Status.SENDING, "claimed_at": now - timedelta(seconds=30)},
        "stale": {"status": Status.SENDING, "claimed_at": now - timedelta(hours=1)},
        "sent": {"status": Status.SENT, "next_attempt_at": now - timedelta(hours=1)},
        "failed": {"status": Status.FAILED, "next_attempt_at": now - timedelta(hours=1)},
    }.items():
        delivery = AlertDelivery.objects.create(
            outage=o, subscription=subscriber(f"{name}@example.com"), kind=Kind.OPENED
        )
        AlertDelivery.objects.filter(pk=delivery.pk).update(**fields)
        rows[name] = delivery.pk

    due = set(selectors.deliveries_due(now=now))

    assert due == {rows["due"], rows["lost_long_ago"], rows["stale"]}


def test_sweep_queues_and_sends_a_lost_delivery(subscriber, outage, mailoutbox, eager):
    now = timezone.now()
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED, now=now)  # no commit: lost

    swept = services.alerts_sweep(now=now + timedelta(minutes=1))

    assert swept.deliveries == [AlertDelivery.objects.get().pk] and swept.confirmations == []
    assert len(mailoutbox) == 1
    assert AlertDelivery.objects.get().status == Status.SENT


def test_the_sweep_task_counts_what_it_queued(subscriber, outage, mailoutbox, eager):
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    assert alerts_sweep_task.apply().get() == 1
    assert alerts_sweep_task.apply().get() == 0  # sent: nothing due any more
    assert len(mailoutbox) == 1


def test_dispatch_after_commit_sends_each_pending_delivery(
    subscriber, outage, mailoutbox, eager, django_capture_on_commit_callbacks
):
    subscriber("a@example.com")
    subscriber("b@example.com")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.alerts_notify(outage=outage(), change=Kind.OPENED)
    assert sorted(m.to[0] for m in mailoutbox) == ["a@example.com", "b@example.com"]


def test_unknown_change_is_refused(outage):
    with pytest.raises(ValueError):
        services.alerts_notify(outage=outage(), change="peak")


@pytest.mark.parametrize(
    ("subscribed", "affected", "match"),
    [([], ["DE"], True), (["DE"], [], True), (["DE"], ["DE", "AT"], True), (["FR"], ["DE"], False)],
)
def test_country_matching(subscribed, affected, match):
    assert selectors.subscription_countries_match(subscribed=subscribed, affected=affected) is match


def test_the_default_retries_outlast_a_day_long_relay_outage():
    # An email is lost only after ALERT_MAX_ATTEMPTS: at the defaults, at least a day of
    # backoff (it was 8 attempts, an hour: a longer relay outage lost every email of it).
    from django.conf import settings as defaults

    from alerts.selectors import retry_delay_seconds

    span = sum(retry_delay_seconds(attempts=n) for n in range(1, defaults.ALERT_MAX_ATTEMPTS))
    assert span >= 24 * 3600


def test_a_relay_that_refuses_the_connection_is_named_with_its_port(settings):
    """The port is what an operator with a wrong EMAIL_URL needs (newcomer tester F8)."""
    from alerts.channels.email import _described

    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 8053
    text = _described(ConnectionRefusedError(111, "Connection refused"))
    assert text.startswith("could not connect to the mail relay 127.0.0.1:8053")


def test_a_retry_timed_from_a_sweep_is_due_at_the_sweep_its_delay_points_at(
    subscriber, outage, monkeypatch, settings
):
    """Chaos tester (forty-third session): an attempt made by a sweep a few ms past its
    minute came due a few ms after the sweep a minute later, so every retry waited a minute
    more than its backoff."""
    settings.ALERT_RETRY_BACKOFF_SECONDS = 60
    sweep = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED, now=sweep)
    delivery = AlertDelivery.objects.get()
    _failing(monkeypatch, ConnectionRefusedError(111, "Connection refused"))
    assert _send(delivery, now=sweep + timedelta(milliseconds=40)).outcome == Outcome.RETRY
    next_sweep = sweep + timedelta(minutes=1, milliseconds=5)
    assert selectors.deliveries_due(now=next_sweep) == [delivery.pk]


def test_a_subscriber_unreachable_while_the_outage_lasted_hears_of_it_when_back(
    subscriber, outage, monkeypatch, mailoutbox
):
    # A relay or receiver down for a short outage never heard of it: the "detected" was
    # skipped as late and the "resolved" as "not told" (mail tester F2, forty-fifth session).
    now = timezone.now().replace(microsecond=0)
    subscriber()
    o = outage()
    services.alerts_notify(outage=o, change=Kind.OPENED, now=now)
    opened = AlertDelivery.objects.get(kind=Kind.OPENED)
    with monkeypatch.context() as down:
        _failing(down, ConnectionRefusedError(111, "refused"))
        assert _send(opened, now=now).outcome == Outcome.RETRY
    _resolve(o, minutes_ago=1)
    services.alerts_notify(outage=o, change=Kind.RESOLVED)
    resolved = AlertDelivery.objects.get(kind=Kind.RESOLVED)
    later = now + timedelta(hours=1)

    assert _send(opened, now=later).outcome == Outcome.SKIPPED
    assert "the 'resolved' message tells it" in AlertDelivery.objects.get(pk=opened.pk).last_error
    assert _send(resolved, now=later).outcome == Outcome.SENT
    [message] = mailoutbox
    text = message.body
    assert "is working again" in text and "We could not reach you while it lasted" in text
    assert "We could not reach you while it lasted" in message.alternatives[0][0]


def test_message_ids_repeat_for_a_resend_and_never_for_a_new_row_with_old_numbers(
    subscriber, outage
):
    # After a restore from a backup the row numbers come again, and a mailbox drops a new
    # message whose Message-ID it holds already (mail tester F4, forty-fifth session).
    from alerts.emails import thread_headers

    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    delivery = selectors.delivery_get(delivery_id=AlertDelivery.objects.get().pk)
    first = thread_headers(delivery=delivery)
    assert thread_headers(delivery=selectors.delivery_get(delivery_id=delivery.pk)) == first
    # The same numbers, made at another time: the restored database's next outage.
    delivery.outage.detected_at += timedelta(days=3)
    assert thread_headers(delivery=delivery)["Message-ID"] != first["Message-ID"]
    assert first["Message-ID"].startswith(f"<outage-{delivery.outage_id}.subscription-")


def test_an_email_of_raw_utf8_says_body_8bitmime_to_a_relay_that_offers_it(
    subscriber, outage, smtp_sink
):
    # RFC 6152: 8-bit content only with BODY=8BITMIME on MAIL (mail tester F1, forty-fifth
    # session: every alert's HTML part has a "·" and none said so). aiosmtpd offers it.
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    assert _send(AlertDelivery.objects.get()).outcome == Outcome.SENT
    smtp_sink.wait_for("ann@example.com", 1)
    [options] = smtp_sink.mail_options
    assert "BODY=8BITMIME" in options


@pytest.mark.parametrize(("minutes", "promised"), [(60, True), (0, False)])
def test_the_detected_email_promises_a_cooldown_only_when_there_is_one(
    subscriber, outage, mailoutbox, settings, minutes, promised
):
    # With ALERT_COOLDOWN_MINUTES=0 it promised "we won't email about new ones for 0 minutes"
    # (regression tester, forty-seventh session).
    settings.ALERT_COOLDOWN_MINUTES = minutes
    subscriber()
    o = outage()
    services.alerts_notify(outage=o, change=Kind.OPENED)
    _send(AlertDelivery.objects.get(outage=o))
    [message] = mailoutbox
    for body in (message.body, message.alternatives[0][0]):
        assert ("won't email about new ones for 60 minutes" in body) == promised
        assert "for 0 minutes" not in body
