"""Signed links for confirming and unsubscribing: no login, the link is the proof.

A token names the subscription and a keyed digest of its address, so a link stays bound to
the address it was mailed to even if the row is deleted and its id reused. A confirm link
also names its ConfirmationDelivery row, which makes it single use and lets unsubscribing
revoke it. The payload is signed, not encrypted; it holds no address, so links in logs
reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from alerts.models import ConfirmationDelivery, Subscription

_CONFIRM_SALT = "outagewatch.alerts.confirm"
_UNSUBSCRIBE_SALT = "outagewatch.alerts.unsubscribe"
_MANAGE_SALT = "outagewatch.alerts.manage"


class InvalidToken(Exception):
    """The link is forged, expired, or its subscription is gone."""


class SubscriptionGone(InvalidToken):
    """A genuine link whose subscription was deleted: unsubscribed long ago and forgotten
    (SUBSCRIPTION_UNSUBSCRIBED_KEEP_DAYS), a sign-up never confirmed, a deleted channel."""


class LinkUsed(InvalidToken):
    """A genuine confirm link, within its days, that was used (or revoked by a later answer).

    Not a forgery: the page may tell its holder, the mailbox's owner, where the subscription
    stands now, rather than "not valid" to someone who is subscribed and clicked twice."""

    def __init__(self, subscription: Subscription) -> None:
        super().__init__("confirmation link already used")
        self.subscription = subscription


@dataclass(frozen=True)
class ConfirmRequest:
    confirmation: ConfirmationDelivery
    subscription: Subscription
    countries: list[str]


def _digest(email: str, secret: str | None = None) -> str:
    return salted_hmac("outagewatch.alerts.address", email.lower(), secret=secret).hexdigest()[:20]


def _digest_matches(digest: object, email: str) -> bool:
    """Under the current key or one it replaced (SECRET_KEY_FALLBACKS), as the signature is
    checked: a key rotated after a leak left every link already mailed dead (ops tester F9)."""
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(constant_time_compare(str(digest), _digest(email, key)) for key in keys)


def confirm_token_make(*, confirmation: ConfirmationDelivery) -> str:
    # The requested countries wait in the row, so a sign-up for an already confirmed
    # address changes nothing until the owner of the mailbox clicks.
    subscription = confirmation.subscription
    payload = {"s": subscription.pk, "d": confirmation.pk, "h": _digest(subscription.email)}
    return signing.dumps(payload, salt=_CONFIRM_SALT)


def unsubscribe_token_make(*, subscription: Subscription) -> str:
    payload = {"s": subscription.pk, "h": _digest(subscription.email)}
    return signing.dumps(payload, salt=_UNSUBSCRIBE_SALT)


def _load(token: str, *, salt: str, max_age: timedelta | None) -> tuple[Subscription, dict]:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
        subscription = Subscription.objects.select_related("service").get(pk=int(payload["s"]))
    except Subscription.DoesNotExist:
        raise SubscriptionGone from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise InvalidToken from None
    if not _digest_matches(payload.get("h", ""), subscription.email):
        raise InvalidToken
    return subscription, payload


def confirm_token_read(token: str, *, now: datetime | None = None) -> ConfirmRequest:
    """The pending confirmation a link stands for; LinkUsed once used or revoked."""
    max_age = timedelta(days=settings.SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS)
    subscription, payload = _load(token, salt=_CONFIRM_SALT, max_age=max_age)
    try:
        confirmation = ConfirmationDelivery.objects.get(
            pk=int(payload["d"]), subscription=subscription
        )
    except (KeyError, TypeError, ValueError, ConfirmationDelivery.DoesNotExist):
        raise InvalidToken from None
    # Counted from the request too: a link that left late after SMTP retries, or was
    # re-signed, expires with its sign-up, which the purge then forgets.
    if confirmation.created_at < (now or timezone.now()) - max_age:
        raise InvalidToken
    if confirmation.used_at is not None:
        raise LinkUsed(subscription)
    confirmation.subscription = subscription
    return ConfirmRequest(
        confirmation=confirmation,
        subscription=subscription,
        countries=list(confirmation.countries or []),
    )


def unsubscribe_token_read(token: str) -> Subscription:
    # No expiry: RFC 8058 one-click links in old emails must keep working.
    subscription, _ = _load(token, salt=_UNSUBSCRIBE_SALT, max_age=None)
    return subscription


def manage_token_make(*, subscription: Subscription) -> str:
    """The management link of a webhook, Slack or Discord channel, mailed to its owner.

    Bound to the owner's address and the channel's URL: it dies with either.
    """
    payload = {"s": subscription.pk, "h": _digest(f"{subscription.email} {subscription.url}")}
    return signing.dumps(payload, salt=_MANAGE_SALT)


def manage_token_read(token: str) -> Subscription:
    # No expiry, like unsubscribe links: the owner keeps the email to come back.
    try:
        payload = signing.loads(token, salt=_MANAGE_SALT)
        subscription = Subscription.objects.select_related("service").get(pk=int(payload["s"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, Subscription.DoesNotExist):
        raise InvalidToken from None
    if not _digest_matches(payload.get("h", ""), f"{subscription.email} {subscription.url}"):
        raise InvalidToken
    return subscription
