"""Races on PostgreSQL around alerts (the subscription's owner pages, the tick, a catalog load,
the sending workers): two at once, in real threads on their own connections, must not end in
a 500 (a deadlock), a lost change or a message too many."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from alerts import selectors, services
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from alerts.services import deliveries
from reports import catalog
from reports.models import Service
from tests.concurrency import Paused, at_once

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks and deadlocks: PostgreSQL only"
)
ROUNDS = 5


def _both(
    first,
    second,
    *,
    meet_in: tuple[object, str],
    meet_in_other: tuple[object, str],
    after: bool = False,
    timeout: float = 5,
):
    """Run first() and second() in two threads at once, each stopping at a meeting point (a
    call of the attribute named: before it, or `after` it returned) until the other reached
    its own: the interleaving that the race needs, every time. A side that a lock of the
    other's holds up never comes: the other goes on after `timeout`. Returns what each
    raised (None if nothing)."""
    start, meet = threading.Barrier(2), threading.Barrier(2, timeout=timeout)
    errors: list[BaseException | None] = [None, None]
    here = threading.local()

    def wrapped(real):
        def meeting() -> None:
            if getattr(here, "meeting", False):
                here.meeting = False
                # Broken (timed out): the other side waits on a lock of ours, no meeting.
                with contextlib.suppress(threading.BrokenBarrierError):
                    meet.wait()

        def call(*args, **kwargs):
            if not after:
                meeting()
            result = real(*args, **kwargs)
            if after:
                meeting()
            return result

        return call

    patches = []
    for owner, name in {meet_in, meet_in_other}:
        real = getattr(owner, name)
        patches.append((owner, name, real))
        setattr(owner, name, wrapped(real))

    def run(i: int, work) -> None:
        try:
            here.meeting = True
            start.wait()
            work()
        except BaseException as exc:  # handed to the test
            errors[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate((first, second))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for owner, name, real in patches:
            setattr(owner, name, real)
    return errors


def _confirmed_with_link(service, email: str, *, links: int = 1):
    now = timezone.now()
    subscription = Subscription.objects.create(
        email=email, service=service, countries=["FR"], confirmed_at=now - timedelta(days=1)
    )
    sent = [
        ConfirmationDelivery.objects.create(
            subscription=subscription,
            countries=["FR", "DE"],
            address_key=email,
            status=ConfirmationDelivery.Status.SENT,
            sent_at=now,
        )
        for _ in range(links)
    ]
    return subscription, sent


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_following_a_link_while_unsubscribing_is_no_deadlock(service):
    """Confirming took the link's row, then the subscription's; unsubscribing the
    subscription's, then every unused link's: at the same moment, each waited for the
    other and PostgreSQL killed one of them (a 500)."""
    from alerts.services import subscriptions

    for k in range(ROUNDS):
        subscription, (link,) = _confirmed_with_link(service, f"ann{k}@example.com")
        owner = Subscription.objects.get(pk=subscription.pk)
        errors = _both(
            lambda link=link: services.subscription_confirm(confirmation=link),
            lambda owner=owner: services.subscription_unsubscribe(subscription=owner),
            meet_in=(Subscription.objects, "select_for_update"),
            meet_in_other=(subscriptions, "_confirmations_revoke"),
        )
        assert errors == [None, None]
        # Whichever came second decides, and the link is used either way.
        link.refresh_from_db()
        assert link.used_at is not None


def _confirm_both(links: list[ConfirmationDelivery]) -> tuple[list, list]:
    outcomes: list[object] = [None, None]

    def confirm(i: int) -> None:
        outcomes[i] = services.subscription_confirm(confirmation=links[i])

    errors = _both(
        lambda: confirm(0),
        lambda: confirm(1),
        meet_in=(Subscription.objects, "select_for_update"),
        meet_in_other=(Subscription.objects, "select_for_update"),
        # With the service's row locked first, the second waits for the first there.
        timeout=1,
    )
    return errors, outcomes


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_following_two_links_of_one_subscription_at_once_confirms_once(service):
    """Each confirmation took its own link's row, then the subscription's, then revoked the
    other links: the second's link was the first's to revoke (a deadlock, a 500)."""
    for k in range(ROUNDS):
        subscription, links = _confirmed_with_link(service, f"bob{k}@example.com", links=2)
        errors, outcomes = _confirm_both(links)
        assert errors == [None, None]
        # One link confirmed; the other was revoked by it (each link works once).
        assert sorted(o is None for o in outcomes) == [False, True]
        assert not ConfirmationDelivery.objects.filter(
            subscription=subscription, used_at__isnull=True
        ).exists()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_link_followed_while_the_tick_opens_an_outage_is_told_of_it(service, outage):
    """The tick's transaction opened the outage and read the active subscriptions while the
    link's transaction made the subscription active and looked for an outage going on:
    neither saw the other's uncommitted row, so nobody ever told the subscriber (no
    "problems detected", hence no "resolved" either)."""
    for k in range(3):
        subscription = Subscription.objects.create(
            email=f"cat{k}@example.com", service=service, countries=["FR"]
        )
        link = ConfirmationDelivery.objects.create(
            subscription=subscription,
            countries=["FR"],
            address_key=subscription.email,
            status=ConfirmationDelivery.Status.SENT,
            sent_at=timezone.now(),
        )
        opened: list = []

        def tick(opened=opened) -> None:
            with transaction.atomic():
                opened.append(outage(countries=["FR"]))
                services.alerts_notify(outage=opened[0], change="opened")

        errors = _both(
            tick,
            lambda link=link: services.subscription_confirm(confirmation=link),
            meet_in=(selectors, "subscription_ids_for_outage"),
            meet_in_other=(selectors, "outage_ongoing_for"),
            after=True,
            timeout=2,
        )
        assert errors == [None, None]
        told = AlertDelivery.objects.filter(outage=opened[0], subscription=subscription)
        assert list(told.values_list("kind", flat=True)) == [AlertDelivery.Kind.OPENED]
        opened[0].status = "resolved"
        opened[0].resolved_at = timezone.now()
        opened[0].save()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_workers_sending_one_delivery_at_once_send_one_email(subscriber, outage, mailoutbox):
    """Guarded by the claim (a conditional UPDATE): one worker sends, the others find
    nothing to claim."""
    subscriber()
    services.alerts_notify(outage=outage(), change="opened")
    delivery = AlertDelivery.objects.get()
    results, errors = at_once(
        4, lambda i: services.alert_delivery_send(delivery_id=delivery.pk).outcome
    )
    assert errors == [None] * 4
    assert sorted(results) == ["not_claimed"] * 3 + ["sent"]
    assert len(mailoutbox) == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_sign_ups_of_a_new_address_at_once_make_one_subscription_and_one_link(service):
    """Guarded by the unique constraint (get_or_create: the second insert waits for the
    first, then reads its row, locked) and the row lock after it."""
    for k in range(3):
        email = f"dan{k}@example.com"
        _, errors = at_once(
            4,
            lambda i, email=email: services.subscription_request(
                email=email, service=service, countries=["FR"]
            ),
        )
        assert errors == [None] * 4
        assert Subscription.objects.filter(email=email).count() == 1
        assert ConfirmationDelivery.objects.filter(subscription__email=email).count() == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_catalog_load_while_the_tick_tells_of_two_outages_is_no_deadlock(
    make_service, outage, problem_types
):
    """The tick locks the rows of the services it has news of in pk order (alerts_notify ->
    service_alerts_lock); the catalog load locked every service of the file in the file's
    order. A file listing the two the other way round: each held one row and waited for the
    other's, and PostgreSQL aborted one of them (a deadlock)."""
    first, second = make_service("first-one"), make_service("second-one")
    assert first.pk < second.pk
    outages = [outage(service=first), outage(service=second)]
    data = {
        "categories": [{"slug": "test-category", "name": "Tests"}],
        "problem_types": [{"slug": slug, "name": p.name} for slug, p in problem_types.items()],
        "services": [
            {
                "slug": s.slug,
                "name": f"{s.name} (new name)",
                "category": "test-category",
                "website": s.website,
                "problems": ["login"],
            }
            for s in (second, first)
        ],
    }

    def tick() -> None:
        with transaction.atomic():
            for each in outages:
                services.alerts_notify(outage=each, change="opened")

    errors = _both(
        tick,
        lambda: catalog.catalog_sync(data=data),
        meet_in=(deliveries, "service_alerts_lock"),
        meet_in_other=(catalog, "_service_write"),
        after=True,
        timeout=3,
    )
    assert errors == [None, None]
    names = Service.objects.filter(pk__in=[first.pk, second.pk]).values_list("name", flat=True)
    assert sorted(names) == ["First-One (new name)", "Second-One (new name)"]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_detected_alert_still_being_sent_holds_the_next_outages_back(
    subscriber, outage, mailoutbox, monkeypatch, settings
):
    """The cool-down looked for an earlier "detected" already sent: one still on its way (a
    slow relay: EMAIL_DATA_TIMEOUT is five minutes) was not, and an outage that opened
    meanwhile (OUTAGE_REOPEN_MINUTES short) sent its own at once, two alerts in a minute."""
    settings.ALERT_COOLDOWN_MINUTES = 60
    subscriber()
    first = outage(minutes_ago=20)
    services.alerts_notify(outage=first, change="opened")
    delivery = AlertDelivery.objects.get(outage=first)
    slow = Paused(lambda: services.alert_delivery_send(delivery_id=delivery.pk).outcome)
    real_send = deliveries.notice_send

    def notice_send(**kwargs):  # the first worker's relay is slow to answer
        slow.point()
        return real_send(**kwargs)

    monkeypatch.setattr(deliveries, "notice_send", notice_send)
    slow.start()
    # Meanwhile the first outage ends and a new one of the service opens.
    first.status, first.resolved_at = "resolved", timezone.now() - timedelta(minutes=2)
    first.save()
    second = outage(minutes_ago=1)
    services.alerts_notify(outage=second, change="opened")
    held = services.alert_delivery_send(delivery_id=AlertDelivery.objects.get(outage=second).pk)
    assert slow.release() == "sent"
    assert held.outcome == "held"
    assert len(mailoutbox) == 1
