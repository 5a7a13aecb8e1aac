"""Races on PostgreSQL between the subscription's owner pages: two requests at once, in real
threads on their own connections, must not end in a 500 (a deadlock) or a lost change."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from alerts import services
from alerts.models import ConfirmationDelivery, Subscription

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks and deadlocks: PostgreSQL only"
)
ROUNDS = 5


def _both(first, second, *, meet_in: tuple[object, str], meet_in_other: tuple[object, str]):
    """Run first() and second() in two threads at once, each stopping at a meeting point (the
    attribute named, wrapped) until the other reached its own: the interleaving that the
    race needs, every time. Returns what each raised (None if nothing)."""
    start, meet = threading.Barrier(2), threading.Barrier(2, timeout=5)
    errors: list[BaseException | None] = [None, None]
    here = threading.local()

    def wrapped(real):
        def call(*args, **kwargs):
            if getattr(here, "meeting", False):
                here.meeting = False
                # Broken (timed out): the other side waits on a lock of ours, no meeting.
                with contextlib.suppress(threading.BrokenBarrierError):
                    meet.wait()
            return real(*args, **kwargs)

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
