"""Building the emails: subject, plain text and HTML bodies, unsubscribe headers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pycountry
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from alerts import tokens
from alerts.models import AlertDelivery, ConfirmationDelivery, Subscription
from detection.models import Outage
from reports.models import ProblemType


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def unsubscribe_url(*, subscription: Subscription) -> str:
    token = tokens.unsubscribe_token_make(subscription=subscription)
    return _absolute(reverse("alerts:unsubscribe", kwargs={"token": token}))


def confirm_url(*, confirmation: ConfirmationDelivery) -> str:
    token = tokens.confirm_token_make(confirmation=confirmation)
    return _absolute(reverse("alerts:confirm", kwargs={"token": token}))


def country_names(codes: list[str]) -> list[str]:
    names = []
    for code in codes:
        country = pycountry.countries.get(alpha_2=code)
        names.append(getattr(country, "common_name", None) or getattr(country, "name", code))
    return names


def _problems(outage: Outage) -> list[dict[str, Any]]:
    slugs = [p.get("problem", "") for p in outage.top_problems or [] if isinstance(p, dict)]
    names = dict(ProblemType.objects.filter(slug__in=slugs).values_list("slug", "name"))
    return [
        {"name": names.get(p.get("problem"), p.get("problem")), "count": p.get("count", 0)}
        for p in (outage.top_problems or [])[:5]
        if isinstance(p, dict)
    ]


def _duration(start: datetime, end: datetime) -> str:
    minutes = max(int((end - start) / timedelta(minutes=1)), 1)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _message(
    *, subscription: Subscription, subject: str, template: str, context: dict[str, Any]
) -> EmailMultiAlternatives:
    link = unsubscribe_url(subscription=subscription)
    context = {**context, "unsubscribe_url": link, "site_url": settings.SITE_URL}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"alerts/emails/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscription.email],
        headers={
            # RFC 2369 + RFC 8058: mail clients show an unsubscribe button that POSTs here.
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # Keeps vacation auto-replies from answering alerts.
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(
        render_to_string(f"alerts/emails/{template}.html", context), "text/html"
    )
    return message


def confirmation_email_build(*, confirmation: ConfirmationDelivery) -> EmailMultiAlternatives:
    subscription = confirmation.subscription
    service = subscription.service
    context = {
        "service": service,
        "service_url": _absolute(service.get_absolute_url()),
        "confirm_url": confirm_url(confirmation=confirmation),
        "countries": country_names(confirmation.countries or []),
        "max_age_days": settings.SUBSCRIPTION_CONFIRM_MAX_AGE_DAYS,
    }
    return _message(
        subscription=subscription,
        subject=f"Confirm OutageWatch alerts for {service.name}",
        template="subscription_confirm",
        context=context,
    )


def alert_email_build(
    *, delivery: AlertDelivery, earlier: AlertDelivery | None, now: datetime
) -> EmailMultiAlternatives:
    """``earlier``: the alert about a previous outage that this one was held back after."""
    outage, subscription = delivery.outage, delivery.subscription
    service = outage.service
    context = {
        "service": service,
        "outage": outage,
        "kind": delivery.kind,
        "countries": country_names(outage.countries or []),
        "problems": _problems(outage),
        "observed": round(outage.peak_observed),
        "expected": round(outage.peak_expected, 1),
        "duration": _duration(outage.started_at, outage.resolved_at or now),
        "service_url": _absolute(service.get_absolute_url()),
        "outage_url": _absolute(f"/outages/{outage.pk}/"),
        "earlier": earlier.outage if earlier else None,
        "earlier_sent_at": earlier.sent_at if earlier else None,
        "cooldown_minutes": settings.ALERT_COOLDOWN_MINUTES,
    }
    since = f"{outage.started_at:%H:%M} UTC"
    if delivery.kind == AlertDelivery.Kind.RESOLVED:
        subject = f"Resolved: {service.name} is working again (problems since {since})"
    else:
        where = f" in {', '.join(context['countries'][:3])}" if outage.countries else ""
        subject = f"{service.name}: problems detected{where} since {since}"
    return _message(
        subscription=subscription,
        subject=subject,
        template=f"alert_{delivery.kind}",
        context=context,
    )
