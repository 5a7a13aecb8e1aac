"""An email's Message-ID is stored on its row before the first attempt: a resend carries it,
and the later emails of an outage answer the "detected" one's as it was sent, even once what
the ids are derived from has changed (operator tester F3, fifty-first session: "resolved"
emails of an outage open across an upgrade that changed the derivation answered an id no
email had, so they joined no thread; so did a new SITE_URL or SECRET_KEY). The owner emails
(confirmation links, their daily list, "channel disabled") keep theirs too, for the resend.

Clocks are pinned: every send gets ``now=``.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from alerts import services
from alerts.emails import thread_headers
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription, UpstreamDelivery
from alerts.services import Outcome
from detection.models import Outage

pytestmark = pytest.mark.django_db

Kind = AlertDelivery.Kind

OTHER_KEY = "rotated-" + "r" * 20 + "Qw3Er5Ty7Ui9Op1As"


def _send(delivery: AlertDelivery, now) -> Outcome:
    return services.alert_delivery_send(delivery_id=delivery.pk, now=now).outcome


def _send_refused(delivery: AlertDelivery, now, monkeypatch) -> Outcome:
    """One attempt at the delivery while the relay refuses the connection."""

    def refused(self, fail_silently=False):
        raise ConnectionRefusedError(111, "refused")

    with monkeypatch.context() as down:
        down.setattr(EmailMultiAlternatives, "send", refused)
        return _send(delivery, now)


def _resolve(outage: Outage, now) -> None:
    Outage.objects.filter(pk=outage.pk).update(
        status=Outage.Status.RESOLVED, resolved_at=now - timedelta(minutes=1)
    )
    outage.refresh_from_db()
    services.alerts_notify(outage=outage, change=Kind.RESOLVED, now=now)


def _stored(kind: str) -> str | None:
    return AlertDelivery.objects.get(kind=kind).message_id


def _change_derivation(settings, what: str) -> None:
    """What the ids were derived from changes between two emails of one outage."""
    if what == "site_url":
        settings.SITE_URL = "https://status.other.example"
    else:
        settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = OTHER_KEY, [settings.SECRET_KEY]


def test_the_message_id_is_stored_at_the_first_attempt_and_a_retry_carries_it(
    subscriber, outage, mailoutbox, monkeypatch, settings
):
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    delivery = AlertDelivery.objects.get()
    assert delivery.message_id is None  # nothing tried yet
    now = timezone.now()
    assert _send_refused(delivery, now, monkeypatch) == Outcome.RETRY
    stored = _stored(Kind.OPENED)
    assert stored and stored.startswith(f"<outage-{delivery.outage_id}.subscription-")

    _change_derivation(settings, "site_url")
    assert _send(delivery, now + timedelta(minutes=5)) == Outcome.SENT
    [message] = mailoutbox
    assert message.extra_headers["Message-ID"] == stored == _stored(Kind.OPENED)


def test_a_resend_after_the_worker_died_carries_the_stored_id(
    subscriber, outage, mailoutbox, settings
):
    # The worker died once the relay had it, before the row said sent: the sweeper takes the
    # stale claim over and sends it again, which the receiver can drop by its id.
    subscriber()
    services.alerts_notify(outage=outage(), change=Kind.OPENED)
    delivery = AlertDelivery.objects.get()
    now = timezone.now()
    assert _send(delivery, now) == Outcome.SENT
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        status=AlertDelivery.Status.SENDING, sent_at=None, claimed_at=now
    )

    _change_derivation(settings, "secret_key")
    later = now + timedelta(seconds=settings.ALERT_SENDING_STALE_SECONDS + 1)
    assert _send(delivery, later) == Outcome.SENT
    first, again = mailoutbox
    assert again.extra_headers["Message-ID"] == first.extra_headers["Message-ID"]


@pytest.mark.parametrize("what", ["site_url", "secret_key"])
def test_resolved_answers_the_detected_email_as_sent_after_the_derivation_changed(
    subscriber, outage, mailoutbox, settings, what
):
    subscriber()
    o = outage()
    services.alerts_notify(outage=o, change=Kind.OPENED)
    now = timezone.now()
    assert _send(AlertDelivery.objects.get(), now) == Outcome.SENT

    _change_derivation(settings, what)
    _resolve(o, now + timedelta(minutes=30))
    assert _send(AlertDelivery.objects.get(kind=Kind.RESOLVED), now + timedelta(minutes=30)) == (
        Outcome.SENT
    )
    detected, resolved = mailoutbox
    root = detected.extra_headers["Message-ID"]
    assert resolved.extra_headers["In-Reply-To"] == resolved.extra_headers["References"] == root
    assert resolved.extra_headers["Message-ID"] == _stored(Kind.RESOLVED) != root


def test_a_detected_email_from_before_stored_ids_is_answered_as_before(
    subscriber, outage, mailoutbox
):
    # Sent by the previous release, which stored no id: its "resolved" answers the id derived
    # from the rows, which is what that release sent it with.
    subscriber()
    o = outage()
    services.alerts_notify(outage=o, change=Kind.OPENED)
    now = timezone.now()
    assert _send(AlertDelivery.objects.get(), now) == Outcome.SENT
    AlertDelivery.objects.update(message_id=None)

    _resolve(o, now + timedelta(minutes=30))
    resolved = AlertDelivery.objects.get(kind=Kind.RESOLVED)
    assert _send(resolved, now + timedelta(minutes=30)) == Outcome.SENT
    detected, answer = mailoutbox
    assert answer.extra_headers["In-Reply-To"] == detected.extra_headers["Message-ID"]
    assert _stored(Kind.OPENED) is None  # a row sent is not rewritten
    assert answer.extra_headers["Message-ID"] == _stored(Kind.RESOLVED)


def test_a_resolved_to_someone_whose_detected_never_left_answers_the_id_it_was_tried_with(
    subscriber, outage, mailoutbox, monkeypatch, settings
):
    # Their mailbox refused every attempt while it lasted: "resolved" tells the whole of it
    # ("we could not reach you"), in the thread the "detected" would have started.
    subscriber()
    o = outage()
    services.alerts_notify(outage=o, change=Kind.OPENED)
    opened = AlertDelivery.objects.get()
    now = timezone.now()
    assert _send_refused(opened, now, monkeypatch) == Outcome.RETRY
    tried = _stored(Kind.OPENED)

    _change_derivation(settings, "site_url")
    later = now + timedelta(hours=1)
    _resolve(o, later)
    assert _send(opened, later) == Outcome.SKIPPED
    assert _send(AlertDelivery.objects.get(kind=Kind.RESOLVED), later) == Outcome.SENT
    [message] = mailoutbox
    assert "We could not reach you while it lasted" in message.body
    assert message.extra_headers["In-Reply-To"] == tried


def test_a_resolved_with_no_detected_ever_tried_answers_the_derived_root_as_before(
    subscriber, outage
):
    # Never tried (held by the cool-down, then over), so nothing stored: the derivation, as
    # before ids were stored.
    subscriber()
    o = outage()
    services.alerts_notify(outage=o, change=Kind.OPENED)
    opened = AlertDelivery.objects.get()
    derived = thread_headers(delivery=opened)["Message-ID"]
    AlertDelivery.objects.create(outage=o, subscription=opened.subscription, kind=Kind.RESOLVED)
    resolved = AlertDelivery.objects.select_related("outage", "subscription").get(
        kind=Kind.RESOLVED
    )
    assert thread_headers(delivery=resolved)["In-Reply-To"] == derived


def test_every_detected_email_of_one_subscriber_about_an_outage_carries_the_stored_root(
    subscriber, outage, settings
):
    # Subscribed (or first concerned) during a relapse, a subscriber's "detected" is a row of
    # that episode: it starts the same thread as the first one tried.
    sub = subscriber()
    o = outage()
    first = AlertDelivery.objects.create(
        outage=o, subscription=sub, kind=Kind.OPENED, message_id="<root.1@ow.example>"
    )
    later = AlertDelivery.objects.create(
        outage=o, subscription=sub, kind=Kind.OPENED, episode=1, next_attempt_at=timezone.now()
    )
    settings.SITE_URL = "https://status.other.example"
    for delivery in (first, later):
        assert thread_headers(delivery=delivery) == {"Message-ID": "<root.1@ow.example>"}


def test_the_thread_holds_over_real_smtp_after_site_url_changed(
    subscriber, outage, smtp_sink, settings
):
    subscriber()
    o = outage()
    services.alerts_notify(outage=o, change=Kind.OPENED)
    now = timezone.now()
    assert _send(AlertDelivery.objects.get(), now) == Outcome.SENT
    smtp_sink.wait_for("ann@example.com", 1)

    settings.SITE_URL = "https://status.other.example"
    _resolve(o, now + timedelta(minutes=30))
    assert _send(AlertDelivery.objects.get(kind=Kind.RESOLVED), now + timedelta(minutes=30)) == (
        Outcome.SENT
    )
    detected, resolved = smtp_sink.wait_for("ann@example.com", 2)
    assert detected["Message-ID"] == _stored(Kind.OPENED)
    assert resolved["In-Reply-To"] == resolved["References"] == detected["Message-ID"]
    assert resolved["Message-ID"] == _stored(Kind.RESOLVED)
    assert resolved["Message-ID"].endswith("@status.other.example>")


# --- Owner emails: confirmation links, their daily list, "channel disabled" ---------------


def _owner_send(pk: int, now) -> Outcome:
    return services.confirmation_delivery_send(confirmation_id=pk, now=now).outcome


def _relay_silent_after_data(monkeypatch) -> list[str]:
    """The relay had the whole message and went silent: it may have kept it, so the retry
    must be recognisable as the same email. Returns the Message-IDs it was given."""
    tried: list[str] = []

    def silent(self, fail_silently=False):
        tried.append(self.extra_headers["Message-ID"])
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailMultiAlternatives, "send", silent)
    return tried


def test_a_confirmation_retry_carries_the_id_of_its_first_attempt(
    service, mailoutbox, monkeypatch, settings
):
    now = timezone.now()
    services.subscription_request(email="ann@example.com", service=service, countries=[], now=now)
    row = ConfirmationDelivery.objects.get()
    with monkeypatch.context() as down:
        attempts = _relay_silent_after_data(down)
        assert _owner_send(row.pk, now) == Outcome.RETRY
    [tried] = attempts
    assert tried.startswith(f"<confirm-{row.pk}.")
    assert ConfirmationDelivery.objects.get().message_id == tried

    _change_derivation(settings, "site_url")
    assert _owner_send(row.pk, now + timedelta(minutes=5)) == Outcome.SENT
    [message] = mailoutbox
    assert message.extra_headers["Message-ID"] == tried


def test_a_channel_disabled_email_retry_carries_the_id_of_its_first_attempt(
    service, mailoutbox, monkeypatch
):
    # It had a new id at every attempt: a relay that kept the first could not drop the second.
    now = timezone.now()
    hook = Subscription.objects.create(
        email="ann@example.com",
        service=service,
        channel=Subscription.Channel.WEBHOOK,
        url="https://hooks.example.com/x",
        confirmed_at=now,
    )
    services.subscription_disable(subscription=hook, reason="HTTP 410 Gone", now=now)
    row = ConfirmationDelivery.objects.get()
    with monkeypatch.context() as down:
        attempts = _relay_silent_after_data(down)
        assert _owner_send(row.pk, now) == Outcome.RETRY
    [tried] = attempts
    assert ConfirmationDelivery.objects.get().message_id == tried

    assert _owner_send(row.pk, now + timedelta(minutes=5)) == Outcome.SENT
    [message] = mailoutbox
    assert message.extra_headers["Message-ID"] == tried


def test_a_gathered_list_retry_carries_the_id_of_its_first_attempt(
    make_service, mailoutbox, monkeypatch, settings
):
    settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY = 1
    settings.SUBSCRIPTION_CONFIRM_GATHER_MINUTES = 10
    now = timezone.now() - timedelta(hours=1)
    for k in range(3):  # one link of its own, two over the cap
        services.subscription_request(
            email="ann@example.com", service=make_service(f"s{k}", f"S{k}"), countries=[], now=now
        )
    gathered = list(ConfirmationDelivery.objects.filter(gathered=True).order_by("pk"))
    assert len(gathered) == 2
    later = now + timedelta(minutes=10)
    with monkeypatch.context() as down:
        attempts = _relay_silent_after_data(down)
        assert _owner_send(gathered[0].pk, later) == Outcome.RETRY
    [tried] = attempts
    assert tried.startswith(f"<confirm-gathered-{gathered[0].pk}.")
    stored = ConfirmationDelivery.objects.filter(gathered=True).values_list("message_id", flat=True)
    assert set(stored) == {tried}

    _change_derivation(settings, "secret_key")
    assert _owner_send(gathered[0].pk, later + timedelta(minutes=5)) == Outcome.SENT
    assert mailoutbox[-1].subject == "Confirm OutageWatch alerts for 2 services"
    assert mailoutbox[-1].extra_headers["Message-ID"] == tried


def test_an_upstream_alert_retry_carries_the_id_of_its_first_attempt(
    mailoutbox, monkeypatch, settings
):
    from detection.services.upstream import upstream_refresh
    from tests.alerts.test_upstream_alerts import dependents_down, follower

    now = timezone.now()
    follower()
    dependents_down(now)
    upstream_refresh(now=now)  # no commit here: sent below, on the pinned clock
    row = UpstreamDelivery.objects.get()
    with monkeypatch.context() as down:
        attempts = _relay_silent_after_data(down)
        result = services.upstream_delivery_send(delivery_id=row.pk, now=now)
        assert result.outcome == Outcome.RETRY
    [tried] = attempts
    assert tried.startswith(f"<upstream-{row.pk}.")
    assert UpstreamDelivery.objects.get().message_id == tried

    _change_derivation(settings, "site_url")
    later = now + timedelta(minutes=5)
    assert services.upstream_delivery_send(delivery_id=row.pk, now=later).outcome == Outcome.SENT
    [message] = mailoutbox
    assert message.extra_headers["Message-ID"] == tried
