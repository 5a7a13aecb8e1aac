"""Managing a webhook, Slack or Discord channel without an account: its owner's signed
link (alerts.tokens.manage_token_make) confirms it, shows the signing secret once, sends
a test message, turns it back on after it was disabled, and deletes it."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError

from alerts import channels, presentation
from alerts.channels import Notice, TransportError
from alerts.models import Subscription
from alerts.services.subscriptions import ongoing_outage_tell, service_alerts_lock
from detection.models import Outage

logger = logging.getLogger(__name__)

# One test message per channel per this many seconds: the button must not make us a
# request cannon pointed at someone else's URL.
TEST_INTERVAL_SECONDS = 10


def subscription_secret_reveal(
    *, subscription: Subscription, now: datetime | None = None
) -> str | None:
    """The webhook's signing secret, the first time only; None ever after."""
    now = now or timezone.now()
    shown = Subscription.objects.filter(
        pk=subscription.pk, secret_shown_at__isnull=True, channel=Subscription.Channel.WEBHOOK
    ).update(secret_shown_at=now)
    return subscription.secret if shown else None


def subscription_secret_rotate(
    *, subscription: Subscription, overlap: bool, now: datetime | None = None
) -> str:
    """A new signing secret, shown once. With ``overlap`` the old one keeps signing beside it
    for WEBHOOK_SECRET_OVERLAP_HOURS, so a receiver not yet given the new one does not refuse
    (and lose) what is sent meanwhile; without, it stops at once (a leaked secret). Only the
    secret just replaced overlaps: one made two rotations ago stops now."""
    now = now or timezone.now()
    hours = settings.WEBHOOK_SECRET_OVERLAP_HOURS if overlap else 0
    secret = secrets.token_hex(32)
    # F("secret"): the value the row holds as it is replaced, whatever this copy says.
    Subscription.objects.filter(pk=subscription.pk).update(
        secret=secret,
        secret_shown_at=now,
        secret_previous=F("secret") if hours else None,
        secret_previous_until=now + timedelta(hours=hours) if hours else None,
    )
    subscription.refresh_from_db(
        fields=["secret", "secret_shown_at", "secret_previous", "secret_previous_until"]
    )
    return secret


def subscription_secret_previous_drop(*, subscription: Subscription) -> None:
    """End the overlap now: only the current secret signs from the next message on (the
    receiver has the new secret, or the old one leaked)."""
    Subscription.objects.filter(pk=subscription.pk).update(
        secret_previous=None, secret_previous_until=None
    )
    subscription.secret_previous = subscription.secret_previous_until = None


def subscription_delete(*, subscription: Subscription) -> None:
    """Forget the channel, its URL and its deliveries."""
    Subscription.objects.filter(pk=subscription.pk).delete()


@dataclass(frozen=True)
class ChannelTested:
    ok: bool
    message: str


def _test_notice(subscription: Subscription, now: datetime) -> Notice:
    from alerts import presentation

    service = subscription.service
    outage = Outage(
        pk=0,
        service=service,
        status=Outage.Status.ACTIVE,
        started_at=now - timedelta(minutes=4),
        detected_at=now - timedelta(minutes=1),
        countries=list(subscription.countries or [])[:2],
        top_problems=[],
        peak_observed=42,
        peak_expected=3.2,
        score=0.99,
        explanation="A test message: no outage. This is what an alert looks like.",
    )
    names = presentation.country_names(outage.countries)
    return Notice(
        delivery_id=0,
        event="test",
        subscription=subscription,
        outage=outage,
        episode=0,
        title=f"Test: {service.name} alerts from OutageWatch reach this channel",
        summary="A test message: no outage. Alerts will look like this.",
        countries=outage.countries,
        country_names=names,
        observed=42.0,
        expected=3.2,
        problems=[],
        outage_url=presentation.absolute("/outages/"),
        service_url=presentation.absolute(service.get_absolute_url()),
        at=now,
    )


def channel_test_send(*, subscription: Subscription, now: datetime | None = None) -> ChannelTested:
    """Send one test message now, answering how the receiver took it."""
    now = now or timezone.now()
    if subscription.channel == Subscription.Channel.EMAIL:
        return ChannelTested(
            False, f"Test messages go to {presentation.posted_channels()} only, not to email."
        )
    try:
        if not cache.add(f"alerts:test:{subscription.pk}", 1, timeout=TEST_INTERVAL_SECONDS):
            return ChannelTested(False, f"One test every {TEST_INTERVAL_SECONDS} seconds, please.")
    except RedisError:
        return ChannelTested(False, "Tests are unavailable right now; try again in a minute.")
    try:
        channels.transport_for(subscription.channel).send(_test_notice(subscription, now))
    except TransportError as exc:
        # In plain words on the owner's page; the raw error stays in the delivery rows.
        reason = presentation.failure_plain(exc, url=subscription.url)
        return ChannelTested(False, f"The test failed: {reason.rstrip('.')}.")
    except Exception:  # a bug in a transport is ours: logged, and a sentence for the owner
        logger.exception("Test message to subscription %s", subscription.pk)
        return ChannelTested(False, "The test failed on our side; we have logged it.")
    return ChannelTested(True, "Sent: your receiver accepted the test message.")


def channel_reenable(*, subscription: Subscription, now: datetime | None = None) -> ChannelTested:
    """Turn a channel disabled for failing back on, once its receiver takes a test message.

    The management link is the owner's proof (as for confirming); the test is the proof that
    the receiver works again, so a channel still broken is not switched on to fail anew.
    Its failures in a row start again from zero. An unsubscribed channel stays so.
    """
    refusal = _reenable_refusal(subscription)
    if refusal:
        return ChannelTested(False, refusal)
    tested = channel_test_send(subscription=subscription, now=now)
    if not tested.ok:
        return ChannelTested(False, f"{tested.message} The channel stays disabled.")
    # Conditional: a delete or an unsubscribe during the test wins.
    with transaction.atomic():
        service_alerts_lock(service_id=subscription.service_id)
        enabled = Subscription.objects.filter(
            pk=subscription.pk, disabled_at__isnull=False, unsubscribed_at__isnull=True
        ).update(disabled_at=None, disabled_reason="", failures=0)
        if enabled:
            # As on confirming: an outage going on is told now, not at its next change.
            ongoing_outage_tell(subscription=subscription, now=now or timezone.now())
    return ChannelTested(
        True, "Re-enabled: your receiver accepted a test message; alerts will be posted again."
    )


def _reenable_refusal(subscription: Subscription) -> str:
    """Why the channel cannot be turned back on, or "" when it can."""
    service = subscription.service
    if not service.is_active:
        return f"OutageWatch has retired {service.name}: nothing will be posted any more."
    disabled = (
        subscription.channel != Subscription.Channel.EMAIL
        and subscription.disabled_at
        and subscription.confirmed_at
        and not subscription.unsubscribed_at
    )
    return "" if disabled else "This channel is not disabled."
