"""Building the emails: subject, plain text and HTML bodies, unsubscribe headers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.template.loader import render_to_string
from django.urls import reverse

from alerts import presentation, selectors, tokens
from alerts.channels.base import Notice
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from detection import presentation as words
from outagewatch.idn import mail_address_ascii
from outagewatch.keyed_hash import keyed_hash

# Not alerts.presentation.absolute (the same function): read at import time, that failed
# whenever alerts.presentation was imported first (it imports the channels, which import
# this module while it is half loaded).
_absolute = words.absolute


def unsubscribe_url(*, subscription: Subscription) -> str:
    token = tokens.unsubscribe_token_make(subscription=subscription)
    return _absolute(reverse("alerts:unsubscribe", kwargs={"token": token}))


def manage_url(*, subscription: Subscription) -> str:
    token = tokens.manage_token_make(subscription=subscription)
    return _absolute(reverse("alerts:manage", kwargs={"token": token}))


def confirm_url(*, confirmation: ConfirmationDelivery) -> str:
    token = tokens.confirm_token_make(confirmation=confirmation)
    return _absolute(reverse("alerts:confirm", kwargs={"token": token}))


def _mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def _message_id(local: str, *made: datetime) -> str:
    """``<local.stamp@domain>``: derived from the rows, so a resend after a crash carries the
    same id and mail clients show it as the same message; ``made`` (when the rows were
    made) keeps the id of a new row unlike any sent before with the same row numbers: after a
    restore from a backup, a recreated database or a staging copy the numbers come again, and
    a mailbox drops a message whose id it holds already (mail tester F4, forty-fifth
    session). Keyed, so the id does not publish the times."""
    stamp = keyed_hash("alerts.message-id", "|".join([local, *(at.isoformat() for at in made)]))
    return f"<{local}.{stamp[:12]}@{_mail_domain()}>"


def _thread_root(*, delivery: AlertDelivery) -> str:
    """The Message-ID of this subscriber's "problems detected" email about the outage, as
    stored at its first attempt; derived as every release before did when none is stored
    (it was sent by one of them, or never tried)."""
    return selectors.delivery_thread_root(delivery=delivery) or _message_id(
        f"outage-{delivery.outage_id}.subscription-{delivery.subscription_id}",
        delivery.outage.detected_at,
        delivery.subscription.created_at,
    )


def alert_message_id(*, delivery: AlertDelivery) -> str:
    """The Message-ID of the delivery's email: the one stored at its first attempt
    (alerts.services.sending), or the one it is to be sent with. A "problems detected"
    starts the thread (each of its rows for the subscriber carries the same id, as a
    relapse's "detected" to someone never told is the same news)."""
    if delivery.message_id:
        return delivery.message_id
    if delivery.kind == AlertDelivery.Kind.OPENED:
        return _thread_root(delivery=delivery)
    return _message_id(f"alert-{delivery.pk}", delivery.created_at)


def thread_headers(*, delivery: AlertDelivery) -> dict[str, str]:
    """One thread per (outage, subscriber): "detected" starts it, later messages answer it."""
    own = alert_message_id(delivery=delivery)
    if delivery.kind == AlertDelivery.Kind.OPENED:
        return {"Message-ID": own}
    root = _thread_root(delivery=delivery)
    return {"Message-ID": own, "In-Reply-To": root, "References": root}


def _message(
    *,
    subscription: Subscription,
    subject: str,
    template: str,
    context: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    link = unsubscribe_url(subscription=subscription)
    return _compose(
        to=subscription.email,
        subject=subject,
        template=template,
        context={**context, "unsubscribe_url": link},
        headers={
            # RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs here.
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            **(headers or {}),
        },
    )


def _compose(
    *, to: str, subject: str, template: str, context: dict[str, Any], headers: dict[str, str]
) -> EmailMultiAlternatives:
    context = {**context, "site_url": settings.SITE_URL}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"alerts/emails/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        # The domain as DNS holds it: Django's mail would encode it by IDNA 2003 (outagewatch.idn).
        to=[mail_address_ascii(to)],
        headers={
            # Keeps vacation auto-replies from answering alerts.
            "Auto-Submitted": "auto-generated",
            # On the site's domain (Django's default is the host's name: "localhost" in a
            # container), as the alerts' thread ids are.
            "Message-ID": make_msgid(domain=_mail_domain()),
            **headers,
        },
    )
    message.attach_alternative(
        render_to_string(f"alerts/emails/{template}.html", context), "text/html"
    )
    return message


def _stored_message_id(rows: list[ConfirmationDelivery]) -> str | None:
    """The Message-ID of the owner email that carried ``rows`` at an earlier attempt, stored
    then (alerts.services.subscriptions), so that a resend carries it whatever changed since;
    None when none is stored (not tried yet, or by a release before they were) or the rows
    went in different emails (a list whose links changed is another email), and the id is
    derived from the rows, as a resend of those carries the same one."""
    stored = {row.message_id for row in rows}
    return stored.pop() if len(stored) == 1 else None


def _confirm_item(confirmation: ConfirmationDelivery) -> dict[str, Any]:
    """What one sign-up request asks for, and the link that confirms it alone."""
    subscription = confirmation.subscription
    service = subscription.service
    item = {
        "service": service,
        "service_url": _absolute(service.get_absolute_url()),
        "confirm_url": confirm_url(confirmation=confirmation),
        "countries": presentation.country_names(confirmation.countries or []),
    }
    if selectors.subscription_is_active(subscription):
        # Already getting these alerts: "no alerts come unless you confirm" would be false.
        # The email says so, and what following the link would change (maybe nothing).
        item["already"] = True
        item["current_countries"] = presentation.country_names(subscription.countries or [])
        item["changes"] = presentation.subscription_changes(
            subscription,
            countries=list(confirmation.countries or []),
            timezone_name=confirmation.timezone,
            notify=confirmation.notify_acknowledged,
        )
    if subscription.channel != Subscription.Channel.EMAIL:
        # Another channel is confirmed and managed from one page, reached by this link.
        # In a sentence ("your webhook"): the model's label is for forms and headings.
        item["channel"] = presentation.channel_noun(subscription.channel)
        item["url"] = presentation.url_shown(subscription.url)
        item["manage_url"] = manage_url(subscription=subscription)
    return item


def _requested_context() -> dict[str, Any]:
    """What the footer of a confirmation email tells someone who may not have asked."""
    return {
        # Not subscribed yet, and maybe not by the address's owner: the footer says so.
        "requested": True,
        "max_age_days": settings.SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS,
        # A stranger can still make us write: the daily cap of single confirmations, and
        # one list a day of the requests beyond it (alerts.services.subscriptions).
        "emails_per_day": settings.SUBSCRIPTION_CONFIRMATIONS_PER_DAY + 1,
    }


def confirmation_email_build(*, confirmation: ConfirmationDelivery) -> EmailMultiAlternatives:
    subscription = confirmation.subscription
    context = {**_confirm_item(confirmation), **_requested_context()}
    name = subscription.service.name
    subject = (
        f"Your OutageWatch alerts for {name}"
        if context.get("already")
        else f"Confirm OutageWatch alerts for {name}"
    )
    return _message(
        subscription=subscription,
        subject=subject,
        template="subscription_confirm",
        context=context,
        headers={
            "Message-ID": _stored_message_id([confirmation])
            or _message_id(f"confirm-{confirmation.pk}", confirmation.created_at)
        },
    )


def confirmations_gathered_email_build(
    *, confirmations: list[ConfirmationDelivery], more: int = 0
) -> EmailMultiAlternatives:
    """The one email a day that carries a mailbox's requests over its daily cap: each service
    with its own link (a confirm link, or the management page of another channel), all to
    the address they were typed as (the caller groups them so). ``more``: requests past the
    list's cap, which follow in the next day's list."""
    if len(confirmations) == 1 and not more:
        # The others were revoked or retired meanwhile: one request reads as one.
        return confirmation_email_build(confirmation=confirmations[0])
    items = [_confirm_item(confirmation) for confirmation in confirmations]
    context = {
        **_requested_context(),
        "items": items,
        "requested_services": [item["service"].name for item in items],
        "any_already": any(item.get("already") for item in items),
        "more": more,
    }
    services = f"{len(items)} service{'' if len(items) == 1 else 's'}"
    # No List-Unsubscribe: the button unsubscribes one subscription, and this email is about
    # several that are not subscribed yet (ignoring it is enough). Naming one of them would
    # leave the button half doing what it says; each link below confirms its own service.
    return _compose(
        to=confirmations[0].subscription.email,
        subject=f"Confirm OutageWatch alerts for {services}",
        template="subscription_confirm_gathered",
        context=context,
        headers={
            "Message-ID": _stored_message_id(confirmations)
            or _message_id(f"confirm-gathered-{confirmations[0].pk}", confirmations[0].created_at)
        },
    )


def channel_disabled_email_build(*, confirmation: ConfirmationDelivery) -> EmailMultiAlternatives:
    """To the owner of a webhook, Slack or Discord channel that kept failing: why, and the
    management page where a test message that gets through turns it back on (the service
    page only takes email addresses)."""
    subscription = confirmation.subscription
    service = subscription.service
    context = {
        "service": service,
        "service_url": _absolute(service.get_absolute_url()),
        "channel": presentation.channel_noun(subscription.channel),
        "url": presentation.url_shown(subscription.url),
        "reason": subscription.disabled_reason,
        "max_failures": settings.ALERT_CHANNEL_MAX_FAILURES,
        "manage_url": manage_url(subscription=subscription),
    }
    stored = _stored_message_id([confirmation])
    return _message(
        subscription=subscription,
        subject=f"OutageWatch stopped sending {service.name} alerts to your {context['channel']}",
        template="channel_disabled",
        context=context,
        # A new one (_compose) at the first attempt, stored then and carried by a resend.
        headers={"Message-ID": stored} if stored else None,
    )


def alert_email_build(*, notice: Notice) -> EmailMultiAlternatives:
    """The email for one notice; ``notice.earlier`` is the alert about a previous outage
    that this one was held back after (cool-down)."""
    delivery, outage, earlier = notice.delivery, notice.outage, notice.earlier
    assert delivery is not None  # emails always have their row
    assert outage is not None  # an upstream outage's notice is upstream_email_build's
    zone, now = presentation.zone_of(notice.subscription), notice.at
    end = words.outage_end(outage)
    quoted = notice.figures or presentation.figures(delivery=delivery, now=now)

    def when(at: datetime | None) -> str:
        # In the subscriber's zone with its offset; the date always (emails are read later).
        return words.time_in_zone(at, zone, now=now, date=True) if at else ""

    context = {
        "service": outage.service,
        "outage": outage,
        "kind": notice.event,
        "countries": notice.country_names,
        "problems": notice.problems,
        # A relapse's own (alerts.presentation.Figures): its follower may never have heard
        # of the first run, whose onset, detection and counts are another country's.
        "peak": quoted.peak,
        "totals": quoted.totals,
        "scope": quoted.scope,
        "started": when(quoted.since),
        "first_started": when(outage.started_at),
        "detected": when(quoted.detected_at),
        "ended": when(end),
        "earlier_started": when(earlier.outage.started_at) if earlier else "",
        "duration": presentation.lasted(outage, since=quoted.since, end=end or notice.at),
        # A relation that stays true in the inbox (not "1 min ago", which goes stale).
        "detection_lag": (
            presentation.duration(quoted.since, quoted.detected_at) if quoted.detected_at else ""
        ),
        "service_url": notice.service_url,
        "outage_url": notice.outage_url,
        "earlier": earlier.outage if earlier else None,
        "earlier_sent_at": earlier.sent_at if earlier else None,
        # Its worker died while sending it, or the relay timed out after taking it: it counts
        # for the cool-down all the same, but "we emailed you then" may not be true.
        "earlier_perhaps": earlier is not None and earlier.status != AlertDelivery.Status.SENT,
        "cooldown_minutes": settings.ALERT_COOLDOWN_MINUTES,
        "reopen_minutes": settings.OUTAGE_REOPEN_MINUTES,
        # A deadline, not "within 30 minutes", which stays true in the inbox (API tester F17).
        "reopen_until": when(selectors.outage_reopen_until(outage=outage, end=end)),
        "official": notice.official,
        "official_incident": notice.official_incident,
        "unreached": presentation.UNREACHED_SENTENCE if notice.unreached else "",
    }
    return _message(
        subscription=notice.subscription,
        subject=notice.title,
        template=f"alert_{notice.event}",
        context=context,
        headers=thread_headers(delivery=delivery),
    )


def upstream_email_build(*, notice: Notice) -> EmailMultiAlternatives:
    """To a provider's follower: several services on the provider are down together."""
    subscription = notice.subscription
    context = {
        "service": subscription.service,
        "title": notice.title,
        "summary": notice.summary,
        "since": notice.extra["since"],
        "outages": notice.extra["outages"],
        "service_url": notice.service_url,
    }
    return _message(
        subscription=subscription,
        subject=notice.title,
        template="alert_upstream",
        context=context,
        headers={
            "Message-ID": upstream_message_id(
                delivery_id=notice.delivery_id,
                made=notice.extra["made"],
                stored=notice.extra.get("message_id"),
            )
        },
    )


def upstream_message_id(*, delivery_id: int, made: datetime, stored: str | None = None) -> str:
    """The Message-ID of an upstream alert: ``stored`` on its row at its first attempt
    (alerts.services.upstream), else derived from the row (``made``: when it was made)."""
    return stored or _message_id(f"upstream-{delivery_id}", made)
